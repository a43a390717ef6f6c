/**
 * The audit topic (DESIGN.md §4.4), read back from the broker after a mix of runs: each run's
 * records, in seq order, form a complete path of the run machine, and every record is a
 * CloudEvent keyed by the run (or thread) id.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Topics } from "../../../src/adapters/kafka/topics.js";
import { isComplete, validateRunPath } from "../../../src/machines/run-path.js";
import { transitionSchema, type Transition } from "../../../src/protocol/audit.js";
import { THREAD_STATUSES } from "../../../src/protocol/run-status.js";
import { startKafkaWorker, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";
import { ROLLED_BACK, UNLIMITED_STEPS, collectEvents, endOf, human, kafkaTestGraphs, waitForEvents } from "./run-helpers.js";
import { TopicTap, jsonOf, type TappedRecord } from "./topic-tap.js";

interface AuditedRun {
  runId: string;
  threadId: string;
  path: string[];
  lastCause: string;
}

describe("the audit topic after a mix of runs", () => {
  let setup: KafkaWorkerSetup;
  let transitions: TopicTap;
  const runs: AuditedRun[] = [];

  beforeAll(async () => {
    setup = await startKafkaWorker({ graphs: kafkaTestGraphs, config: { commandPartitions: 3 } });
    transitions = await TopicTap.start(setup.brokers, new Topics(setup.prefix).transitions);
    const { client } = setup;

    const audited = (runId: string, threadId: string, path: string[], lastCause: string) => runs.push({ runId, threadId, path, lastCause });
    const startSlow = async (threadId: string, extra: { timeout_ms?: number } = {}) => {
      const reply = await client.runs.create({ thread_id: threadId, graph_id: "slow", input: human("slow"), stream_mode: ["updates"], config: UNLIMITED_STEPS, ...extra });
      expect(reply).toMatchObject({ accepted: true, disposition: "started" });
      return reply.run_id;
    };

    const success = await client.runs.wait({ thread_id: "audit-success", graph_id: "echo", input: human("hi") });
    expect(success.status).toBe("success");
    audited(success.run_id, "audit-success", ["pending", "running", "success"], "graph_completed");

    const failed = await client.runs.wait({ thread_id: "audit-error", graph_id: "failing", input: human("hi") });
    expect(failed.end).toEqual({ status: "error", error: { name: "BoomError", message: "boom" } });
    audited(failed.run_id, "audit-error", ["pending", "running", "error"], "graph_failed");

    for (const action of ["interrupt", "rollback"] as const) {
      const threadId = `audit-cancel-${action}`;
      const runId = await startSlow(threadId);
      await waitForEvents(client, runId, (event) => event.name === "updates");
      expect(await client.runs.cancel(threadId, runId, action)).toMatchObject({ accepted: true });
      const end = endOf(await collectEvents(client, runId));
      if (action === "interrupt") {
        expect(end).toEqual({ status: "interrupted" });
        audited(runId, threadId, ["pending", "running", "interrupted"], "cancel_interrupt");
      } else {
        expect(end).toEqual({ status: "error", error: ROLLED_BACK });
        audited(runId, threadId, ["pending", "running", "rolling_back", "error"], "restore_done");
      }
    }

    const timedOut = await startSlow("audit-timeout", { timeout_ms: 300 });
    expect(endOf(await collectEvents(client, timedOut)).status).toBe("timeout");
    audited(timedOut, "audit-timeout", ["pending", "running", "timeout"], "deadline_passed");

    // Two runs queued behind an active one, cancelled while still pending.
    const queueThread = "audit-queue";
    const active = await startSlow(queueThread);
    for (const action of ["interrupt", "rollback"] as const) {
      const queued = await client.runs.create({ thread_id: queueThread, graph_id: "tick", input: human("queued"), multitask_strategy: "enqueue" });
      expect(queued).toMatchObject({ accepted: true, disposition: "queued" });
      expect(await client.runs.cancel(queueThread, queued.run_id, action)).toMatchObject({ accepted: true });
      const end = endOf(await collectEvents(client, queued.run_id));
      if (action === "interrupt") {
        expect(end).toEqual({ status: "interrupted" });
        audited(queued.run_id, queueThread, ["pending", "interrupted"], "cancel_interrupt");
      } else {
        expect(end).toEqual({ status: "error", error: ROLLED_BACK });
        audited(queued.run_id, queueThread, ["pending", "error"], "cancel_rollback");
      }
    }
    expect(await client.runs.cancel(queueThread, active, "interrupt")).toMatchObject({ accepted: true });
    expect(endOf(await collectEvents(client, active))).toEqual({ status: "interrupted" });
    audited(active, queueThread, ["pending", "running", "interrupted"], "cancel_interrupt");
  });

  afterAll(async () => {
    await transitions?.stop();
    await setup?.stop();
  });

  function records(kind: "run" | "thread", id: string): Array<{ record: TappedRecord; transition: Transition }> {
    return transitions.records
      .filter((record) => record.key === id)
      .map((record) => ({ record, transition: transitionSchema.parse(jsonOf(record)) }))
      .filter(({ transition }) => transition.kind === kind)
      .sort((a, b) => a.transition.seq - b.transition.seq);
  }

  function pathOf(runId: string): string[] {
    return records("run", runId).map(({ transition }) => transition.to);
  }

  it("holds, for every run, a valid and complete path of the run machine in seq order", async () => {
    expect(runs).toHaveLength(8);
    await expect.poll(() => runs.filter((run) => !isComplete(pathOf(run.runId))).map((run) => run.runId), { timeout: 15_000 }).toEqual([]);

    for (const run of runs) {
      const entries = records("run", run.runId).map(({ transition }) => transition);
      const path = entries.map((transition) => transition.to);
      expect(validateRunPath(path), `${run.runId}: ${path.join(" → ")}`).toEqual({ valid: true });
      expect(isComplete(path)).toBe(true);
      expect(path, run.runId).toEqual(run.path);
      // Exactly one record per transition, numbered from 0 without gaps, each starting where the last one ended.
      expect(entries.map((transition) => transition.seq)).toEqual(path.map((_, i) => i));
      expect(entries.map((transition) => transition.from)).toEqual([null, ...path.slice(0, -1)]);
      expect(entries[0]?.cause).toBe("accepted");
      expect(entries.at(-1)?.cause).toBe(run.lastCause);
      for (const transition of entries) {
        expect(transition).toMatchObject({ kind: "run", id: run.runId, thread_id: run.threadId, worker_id: setup.worker.id });
      }
    }
  });

  it("holds thread records with their from and to statuses for every thread", async () => {
    const finalStatus: Record<string, string> = {
      "audit-success": "idle",
      "audit-error": "error",
      "audit-cancel-interrupt": "interrupted",
      "audit-cancel-rollback": "error",
      "audit-timeout": "error",
      "audit-queue": "interrupted",
    };
    for (const [threadId, status] of Object.entries(finalStatus)) {
      const claimedRuns = runs.filter((run) => run.threadId === threadId && run.path.includes("running"));
      // created, then one claim and one release per run that ran.
      await expect.poll(() => records("thread", threadId).length, { timeout: 10_000 }).toBe(1 + 2 * claimedRuns.length);
      const entries = records("thread", threadId).map(({ transition }) => transition);
      expect(entries.map((transition) => transition.seq)).toEqual(entries.map((_, i) => i));
      expect(entries[0]).toMatchObject({ kind: "thread", id: threadId, thread_id: threadId, from: null, to: "idle", cause: "created" });
      for (const [i, transition] of entries.entries()) {
        expect(THREAD_STATUSES).toContain(transition.to);
        if (i > 0) expect(transition.from).toBe(entries[i - 1]?.to);
      }
      expect(entries.filter((transition) => transition.to === "busy").map((transition) => transition.cause)).toEqual(
        claimedRuns.map((run) => `claimed:${run.runId}`),
      );
      expect(entries.at(-1)).toMatchObject({ from: "busy", to: status });
      expect(entries.at(-1)?.cause).toMatch(new RegExp(`^released:${claimedRuns.at(-1)?.runId}:`));
    }
  });

  it("gives every record CloudEvents headers, keyed by the run or thread id", () => {
    expect(transitions.records.length).toBeGreaterThan(0);
    for (const record of transitions.records) {
      const transition = transitionSchema.parse(jsonOf(record));
      expect(record.key).toBe(transition.id);
      expect(record.headers).toMatchObject({
        ce_specversion: "1.0",
        ce_type: "runbus.transition",
        ce_subject: transition.thread_id,
        // A thread's claim and release by a run are named by their cause, so a re-announcement keeps the id.
        ce_id: /^(claimed|released):/.test(transition.cause)
          ? `thread:${transition.id}:${transition.cause}`
          : `${transition.kind}:${transition.id}:${transition.worker_id}:${transition.seq}`,
        ce_time: transition.at,
        "content-type": "application/json",
      });
      expect(record.headers.ce_source).toBe(`runbus/worker/${setup.worker.id}`);
    }
  });
});

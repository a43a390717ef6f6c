/**
 * run.cancel through Kafka (DESIGN.md §2, §7): interrupt and rollback of a running run, and a
 * cancel that reaches its run through the control topic when the worker that consumed the
 * command is not the one hosting the run.
 */
import { AssignerProtocol, Partitioners, type PartitionMetadata } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Topics } from "../../../src/adapters/kafka/topics.js";
import type { CancelAction } from "../../../src/protocol/commands.js";
import { memoryStores, startKafkaWorker, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";
import {
  ROLLED_BACK,
  UNLIMITED_STEPS,
  collectEvents,
  endOf,
  human,
  kafkaTestGraphs,
  latestValues,
  messageTexts,
  waitForEvents,
} from "./run-helpers.js";
import { testKafka } from "./topic-tap.js";

const COMMAND_PARTITIONS = 3;

describe("run.cancel through Kafka on one worker", () => {
  const stores = memoryStores();
  let setup: KafkaWorkerSetup;

  beforeAll(async () => {
    setup = await startKafkaWorker({ graphs: kafkaTestGraphs, stores, config: { commandPartitions: COMMAND_PARTITIONS } });
  });
  afterAll(async () => {
    await setup?.stop();
  });

  /** Starts a slow run and waits until it has streamed `steps` updates (so it has written checkpoints). */
  async function startSlowRun(threadId: string, steps = 1): Promise<string> {
    const reply = await setup.client.runs.create({
      thread_id: threadId,
      graph_id: "slow",
      input: human("during"),
      stream_mode: ["updates"],
      config: UNLIMITED_STEPS,
    });
    expect(reply).toMatchObject({ accepted: true, disposition: "started" });
    await waitForEvents(setup.client, reply.run_id, (event) => event.name === "updates", steps);
    return reply.run_id;
  }

  it("interrupt: the reply accepts it and the run ends interrupted, keeping its checkpoints", async () => {
    const threadId = "cancel-interrupt";
    const runId = await startSlowRun(threadId, 2);

    const reply = await setup.client.runs.cancel(threadId, runId, "interrupt");
    expect(reply).toMatchObject({ accepted: true, run_id: runId, thread_id: threadId });
    expect(reply.disposition).toBe("applied");

    const events = await collectEvents(setup.client, runId);
    expect(endOf(events)).toEqual({ status: "interrupted" });
    expect(events.map((event) => event.name)).not.toContain("error");
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i));

    expect(await stores.runs.get(runId)).toMatchObject({ status: "interrupted" });
    expect(await stores.threads.get(threadId)).toMatchObject({ status: "interrupted", active_run_id: null });
    // Interrupt keeps what the run did: at least the two steps it streamed.
    const values = await latestValues(stores.checkpointer, threadId);
    expect(values?.step).toBeGreaterThanOrEqual(2);
    expect(messageTexts(values)[0]).toBe("during");
  });

  it("rollback: the run ends error 'Rolled back by user' and the thread holds its pre-run checkpoint again", async () => {
    const threadId = "cancel-rollback";
    const before = await setup.client.runs.wait({ thread_id: threadId, graph_id: "tick", input: human("before") });
    expect(before.status).toBe("success");
    const config = { configurable: { thread_id: threadId, checkpoint_ns: "" } };
    const preRun = await stores.checkpointer.getTuple(config);
    expect(preRun?.checkpoint.channel_values).toMatchObject({ step: 1 });
    expect(messageTexts(preRun?.checkpoint.channel_values)).toEqual(["before", "tick 1"]);

    const runId = await startSlowRun(threadId, 2);
    expect(messageTexts(await latestValues(stores.checkpointer, threadId))).toContain("during");

    const reply = await setup.client.runs.cancel(threadId, runId, "rollback");
    expect(reply).toMatchObject({ accepted: true, run_id: runId, thread_id: threadId });

    const events = await collectEvents(setup.client, runId);
    expect(endOf(events)).toEqual({ status: "error", error: ROLLED_BACK });
    expect(events.filter((event) => event.name === "error").map((event) => event.data)).toEqual([ROLLED_BACK]);
    expect(await stores.runs.get(runId)).toMatchObject({ status: "error", error: ROLLED_BACK });

    const after = await stores.checkpointer.getTuple(config);
    expect(after?.checkpoint.channel_values).toEqual(preRun?.checkpoint.channel_values);
    expect(after?.checkpoint.channel_versions).toEqual(preRun?.checkpoint.channel_versions);
    // Restored under a fresh id, so it supersedes every checkpoint the cancelled run wrote.
    expect(after?.checkpoint.id).not.toBe(preRun?.checkpoint.id);
    expect(messageTexts(after?.checkpoint.channel_values)).toEqual(["before", "tick 1"]);
  });

  it("rollback of a thread's first run leaves the thread without checkpoints", async () => {
    const threadId = "cancel-rollback-first";
    const runId = await startSlowRun(threadId);
    expect(await latestValues(stores.checkpointer, threadId)).toBeDefined();

    expect(await setup.client.runs.cancel(threadId, runId, "rollback")).toMatchObject({ accepted: true });
    expect(endOf(await collectEvents(setup.client, runId))).toEqual({ status: "error", error: ROLLED_BACK });
    expect(await stores.checkpointer.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } })).toBeUndefined();
  });

  it("a cancel of a run that already ended is accepted as done", async () => {
    const threadId = "cancel-done";
    const result = await setup.client.runs.wait({ thread_id: threadId, graph_id: "tick", input: human("quick") });
    expect(result.status).toBe("success");
    expect(await setup.client.runs.cancel(threadId, result.run_id, "interrupt")).toMatchObject({ accepted: true, disposition: "done" });
  });
});

/**
 * Thread ids whose commands land on each command partition `perPartition` times, computed with
 * the partitioner the client's kafkajs producer uses (murmur2 of the key), so every partition
 * owner gets cancels to consume.
 */
function threadIdsCoveringPartitions(perPartition: number): Array<{ threadId: string; partition: number }> {
  const partitionOf = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from(
    { length: COMMAND_PARTITIONS },
    (_, partitionId): PartitionMetadata => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }),
  );
  const chosen: Array<{ threadId: string; partition: number }> = [];
  for (let i = 0; chosen.length < perPartition * COMMAND_PARTITIONS; i++) {
    const threadId = `control-${i}`;
    const partition = partitionOf({ topic: "commands", partitionMetadata, message: { key: threadId, value: null } });
    if (chosen.filter((c) => c.partition === partition).length < perPartition) chosen.push({ threadId, partition });
  }
  return chosen;
}

describe("run.cancel through the control topic with two workers in one group", () => {
  // One MongoDB in production: here both workers share one set of stores.
  const stores = memoryStores();
  let first: KafkaWorkerSetup;
  let second: KafkaWorkerSetup | undefined;

  beforeAll(async () => {
    first = await startKafkaWorker({ graphs: kafkaTestGraphs, stores, config: { commandPartitions: COMMAND_PARTITIONS } });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  /** Which worker (by client id) owns each command partition now. */
  async function commandPartitionOwners(): Promise<Map<number, string>> {
    const admin = testKafka(first.brokers).admin();
    await admin.connect();
    try {
      const groupId = `${first.prefix}runbus-workers`;
      const { groups } = await admin.describeGroups([groupId]);
      const owners = new Map<number, string>();
      const commands = new Topics(first.prefix).commands;
      for (const member of groups[0]?.members ?? []) {
        const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
        for (const partition of decoded?.assignment[commands] ?? []) owners.set(partition, member.clientId);
      }
      return owners;
    } finally {
      await admin.disconnect();
    }
  }

  it("reaches the hosting worker whichever worker consumed the cancel", async () => {
    // Every run is admitted while the first worker is alone in the group, so it hosts them all.
    const threads = threadIdsCoveringPartitions(2);
    const runs = await Promise.all(
      threads.map(async ({ threadId, partition }, i) => {
        const reply = await first.client.runs.create({
          thread_id: threadId,
          graph_id: "slow",
          input: human(`run ${i}`),
          stream_mode: ["updates"],
          config: UNLIMITED_STEPS,
        });
        expect(reply).toMatchObject({ accepted: true, disposition: "started" });
        const action: CancelAction = i % 2 === 0 ? "interrupt" : "rollback";
        return { threadId, partition, runId: reply.run_id, action };
      }),
    );
    for (const run of runs) await waitForEvents(first.client, run.runId, (event) => event.name === "updates");
    expect([...first.worker.runtime.supervisor.activeRuns.keys()].sort()).toEqual(runs.map((run) => run.runId).sort());

    // The second worker joins: the group rebalances and some command partitions move to it.
    second = await startKafkaWorker({ graphs: kafkaTestGraphs, stores, prefix: first.prefix, config: { commandPartitions: COMMAND_PARTITIONS } });
    const owners = await commandPartitionOwners();
    const clientIdOf = (setup: KafkaWorkerSetup) => `runbus-${setup.worker.id}`;
    expect([...owners.keys()].sort()).toEqual([0, 1, 2]);
    expect(new Set(owners.values())).toEqual(new Set([clientIdOf(first), clientIdOf(second)]));
    expect(second.worker.runtime.supervisor.activeRuns.size).toBe(0);

    const replies = await Promise.all(runs.map((run) => second!.client.runs.cancel(run.threadId, run.runId, run.action)));
    for (const [i, run] of runs.entries()) {
      const consumedByHost = owners.get(run.partition) === clientIdOf(first);
      expect(replies[i]).toMatchObject({ accepted: true, run_id: run.runId });
      // Stored on the run either way; the host applies it at once, the other worker leaves it to
      // the host, which reads it from the control topic.
      expect(replies[i]?.disposition).toBe(consumedByHost ? "applied" : "stored");
      expect((await stores.runs.get(run.runId))?.cancel_requested?.action).toBe(run.action);
    }
    expect(replies.filter((reply) => reply.disposition === "stored").length).toBeGreaterThanOrEqual(2);

    for (const run of runs) {
      const end = endOf(await collectEvents(first.client, run.runId));
      expect(end).toEqual(run.action === "interrupt" ? { status: "interrupted" } : { status: "error", error: ROLLED_BACK });
      expect(await stores.threads.get(run.threadId)).toMatchObject({ active_run_id: null });
    }
    await expect.poll(() => first.worker.runtime.supervisor.activeRuns.size, { timeout: 10_000 }).toBe(0);
    expect(first.worker.state).toBe("running");
    expect(second.worker.state).toBe("running");
  });
});

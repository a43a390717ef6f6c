/**
 * The multitask strategies (DESIGN.md §6) under a burst: 100 run.create commands for one thread
 * submitted at once. Whatever the strategy, a thread never has two active runs, and a run never
 * starts before the previous one is terminal and has written its `end`.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isComplete } from "../../../src/machines/run-path.js";
import type { MultitaskStrategy } from "../../../src/protocol/commands.js";
import {
  allRunsDone,
  cancelRun,
  collectRun,
  createRun,
  createTestRuntime,
  latestValues,
  lifecycleGraphs,
  messageTexts,
  newId,
  quickSlowGraph,
  runPath,
  runTransitions,
  waitForEvent,
  UNLIMITED_STEPS,
  type TestRuntime,
} from "../../helpers/runtime.js";
import { watchThreadExclusivity, type ExclusivityWatch } from "../../helpers/thread-exclusivity.js";

const BURST = 100;
const graphs = lifecycleGraphs({
  // One short tick per run: a run takes a little time, and each adds one step and two messages.
  tick: quickSlowGraph(1, 2),
  // The run a burst arrives on: busy until cancelled.
  long: quickSlowGraph(10_000, 10),
});
const ROLLED_BACK = { name: "RunRolledBack", message: "Rolled back by user" };
const human = (content: string) => ({ messages: [{ role: "user", content }] });

let t: TestRuntime;
let watch: ExclusivityWatch;
let threadId: string;

beforeEach(() => {
  t = createTestRuntime({ graphs });
  watch = watchThreadExclusivity(t.runtime);
  threadId = newId("thread");
});

afterEach(async () => {
  await t.runtime.supervisor.drain(0);
  watch.stop();
});

/** Submits `BURST` creates for the thread at once; the i-th one's input is the message `b<i>`. */
function burst(strategy: MultitaskStrategy | undefined, graphId = "tick") {
  return Promise.all(
    Array.from({ length: BURST }, (_, i) =>
      createRun(t.runtime, {
        thread_id: threadId,
        graph_id: graphId,
        input: human(`b${i}`),
        run_id: `burst-${i}-${threadId}`,
        ...(strategy ? { multitask_strategy: strategy } : {}),
      }),
    ),
  );
}

/** Starts a run that keeps the thread busy and waits until it has written checkpoints. */
async function startLongRun(input: string): Promise<string> {
  const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "long", input: human(input), stream_mode: ["updates"], config: UNLIMITED_STEPS });
  expect(reply).toMatchObject({ accepted: true, disposition: "started" });
  await waitForEvent(t.runtime, reply.run_id, (event) => event.name === "updates");
  return reply.run_id;
}

async function statusOf(runId: string): Promise<string | undefined> {
  return (await t.runtime.adapters.runs.get(runId))?.status;
}

function lastCause(runId: string): string | undefined {
  return runTransitions(t.runtime, runId).at(-1)?.cause;
}

function expectExclusive(): void {
  expect(watch.violations).toEqual([]);
  expect(watch.maxActive.get(threadId)).toBe(1);
}

describe(`a burst of ${BURST} creates on one thread`, () => {
  it("reject (the default): the first starts, the other 99 are refused with thread_busy and leave nothing", async () => {
    // Half of them rely on the default strategy.
    const replies = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        createRun(t.runtime, {
          thread_id: threadId,
          graph_id: "long",
          input: human(`b${i}`),
          config: UNLIMITED_STEPS,
          ...(i % 2 === 1 ? { multitask_strategy: "reject" as const } : {}),
        }),
      ),
    );
    const [first, ...rest] = replies;
    expect(first).toMatchObject({ accepted: true, disposition: "started" });
    expect(rest.filter((reply) => !reply.accepted && reply.code === "thread_busy")).toHaveLength(BURST - 1);
    expect(rest.every((reply) => reply.reason === `Thread ${threadId} is busy with run ${first!.run_id}.`)).toBe(true);

    for (const reply of rest) {
      expect(await t.runtime.adapters.runs.get(reply.run_id)).toBeUndefined();
      expect(t.runtime.adapters.events.events(reply.run_id)).toEqual([]);
      expect(t.runtime.adapters.audit.list({ kind: "run", id: reply.run_id })).toEqual([]);
    }
    expect(await t.runtime.adapters.runs.listByThread(threadId)).toHaveLength(1);
    expect(t.runtime.adapters.replies.replies).toHaveLength(BURST);
    expect(await t.runtime.adapters.threads.get(threadId)).toMatchObject({ status: "busy", active_run_id: first!.run_id });

    await cancelRun(t.runtime, threadId, first!.run_id, "interrupt");
    expect((await collectRun(t.runtime, first!.run_id)).at(-1)?.data).toEqual({ status: "interrupted" });
    expect(messageTexts(await latestValues(t.checkpointer, threadId))[0]).toBe("b0");
    expectExclusive();
  });

  it("enqueue: all are accepted and run to success one at a time, in submission order", async () => {
    const replies = await burst("enqueue");
    expect(replies.map((reply) => reply.accepted)).toEqual(Array(BURST).fill(true));
    expect(replies[0]?.disposition).toBe("started");
    expect(replies.slice(1).every((reply) => reply.disposition === "queued")).toBe(true);

    const last = replies.at(-1)!;
    expect((await collectRun(t.runtime, last.run_id)).at(-1)?.data).toEqual({ status: "success" });
    await allRunsDone(t.runtime);

    const runIds = replies.map((reply) => reply.run_id);
    expect(watch.startOrder.get(threadId)).toEqual(runIds);
    for (const runId of runIds) {
      expect(runPath(t.runtime, runId)).toEqual(["pending", "running", "success"]);
      expect(await statusOf(runId)).toBe("success");
    }
    // Each run saw the state its predecessors left: one tick each, inputs in submission order.
    const values = await latestValues(t.checkpointer, threadId);
    expect(values?.step).toBe(BURST);
    expect(messageTexts(values)).toEqual(runIds.flatMap((_, i) => [`b${i}`, `tick ${i + 1}`]));
    expect(await t.runtime.adapters.threads.get(threadId)).toMatchObject({ status: "idle", active_run_id: null });
    expectExclusive();
    // A hundred runs one after another: about 15 s on a quiet machine, twice that on a loaded one.
  }, 60_000);

  it("interrupt: each new run cancels the one before it; only the last one succeeds", async () => {
    const active = await startLongRun("active");
    const replies = await burst("interrupt");
    expect(replies.every((reply) => reply.accepted)).toBe(true);

    const last = replies.at(-1)!;
    expect((await collectRun(t.runtime, last.run_id)).at(-1)?.data).toEqual({ status: "success" });
    await allRunsDone(t.runtime);

    expect(runPath(t.runtime, last.run_id)).toEqual(["pending", "running", "success"]);
    expect(runPath(t.runtime, active)).toEqual(["pending", "running", "interrupted"]);
    expect(lastCause(active)).toBe("cancel_interrupt");
    for (const reply of replies.slice(0, -1)) {
      const path = runPath(t.runtime, reply.run_id);
      expect(isComplete(path)).toBe(true);
      expect(path.at(-1)).toBe("interrupted");
      expect(lastCause(reply.run_id)).toBe("cancel_interrupt");
      expect(await statusOf(reply.run_id)).toBe("interrupted");
    }
    const started = watch.startOrder.get(threadId) ?? [];
    expect(started[0]).toBe(active);
    expect(started.at(-1)).toBe(last.run_id);

    // A cancelled run that never started left nothing in the thread's state.
    const texts = messageTexts(await latestValues(t.checkpointer, threadId));
    expect(texts.slice(-2)).toEqual([`b${BURST - 1}`, expect.stringMatching(/^tick \d+$/)]);
    for (const [i, reply] of replies.entries()) {
      if (!started.includes(reply.run_id)) expect(texts).not.toContain(`b${i}`);
    }
    expect(await t.runtime.adapters.threads.get(threadId)).toMatchObject({ status: "idle", active_run_id: null });
    expectExclusive();
  });

  it("rollback: every run before the last is rolled back; the thread ends as the last run left it on the pre-burst state", async () => {
    const before = await createRun(t.runtime, { thread_id: threadId, graph_id: "tick", input: human("before") });
    await collectRun(t.runtime, before.run_id);
    const preBurst = await latestValues(t.checkpointer, threadId);
    expect(preBurst?.step).toBe(1);
    expect(messageTexts(preBurst)).toEqual(["before", "tick 1"]);

    // The active run has written checkpoints of its own, which the rollback must undo.
    const active = await startLongRun("active");
    const replies = await burst("rollback");
    expect(replies.every((reply) => reply.accepted)).toBe(true);

    const last = replies.at(-1)!;
    expect((await collectRun(t.runtime, last.run_id)).at(-1)?.data).toEqual({ status: "success" });
    await allRunsDone(t.runtime);

    expect(runPath(t.runtime, active)).toEqual(["pending", "running", "rolling_back", "error"]);
    expect((await collectRun(t.runtime, active)).at(-1)?.data).toEqual({ status: "error", error: ROLLED_BACK });
    for (const reply of replies.slice(0, -1)) {
      const path = runPath(t.runtime, reply.run_id);
      expect(isComplete(path)).toBe(true);
      expect(path.at(-1)).toBe("error");
      expect(await t.runtime.adapters.runs.get(reply.run_id)).toMatchObject({ status: "error", error: ROLLED_BACK });
    }
    expect(runPath(t.runtime, last.run_id)).toEqual(["pending", "running", "success"]);

    const final = await latestValues(t.checkpointer, threadId);
    expect(final?.step).toBe(2);
    expect(messageTexts(final)).toEqual(["before", "tick 1", `b${BURST - 1}`, "tick 2"]);
    expect(await t.runtime.adapters.threads.get(threadId)).toMatchObject({ status: "idle", active_run_id: null });
    expectExclusive();
  });
});

describe("after_seconds", () => {
  it("holds a run back: a run created later without delay starts first", async () => {
    const delayed = await createRun(t.runtime, { thread_id: threadId, graph_id: "tick", input: human("delayed"), after_seconds: 0.2 });
    expect(delayed).toMatchObject({ accepted: true, disposition: "scheduled" });
    const prompt = await createRun(t.runtime, { thread_id: threadId, graph_id: "tick", input: human("prompt") });
    expect(prompt).toMatchObject({ accepted: true, disposition: "started" });

    expect((await collectRun(t.runtime, delayed.run_id)).at(-1)?.data).toEqual({ status: "success" });
    expect(watch.startOrder.get(threadId)).toEqual([prompt.run_id, delayed.run_id]);
    expect(messageTexts(await latestValues(t.checkpointer, threadId))).toEqual(["prompt", "tick 1", "delayed", "tick 2"]);
    expectExclusive();
  });

  it("a delayed run on a busy thread waits for the active run after its delay", async () => {
    const active = await startLongRun("active");
    const delayed = await createRun(t.runtime, { thread_id: threadId, graph_id: "long", input: human("delayed"), after_seconds: 0.05, config: UNLIMITED_STEPS });
    expect(delayed).toMatchObject({ accepted: true, disposition: "scheduled" });

    // Nine more ticks of 10 ms: well past its delay, it is still pending behind the active run.
    await waitForEvent(t.runtime, active, (event) => event.name === "updates" && (event.data as { tick: { step: number } }).tick.step >= 10);
    expect(runPath(t.runtime, delayed.run_id)).toEqual(["pending"]);

    await cancelRun(t.runtime, threadId, active, "interrupt");
    await waitForEvent(t.runtime, delayed.run_id, (event) => event.name === "values");
    expect(watch.startOrder.get(threadId)).toEqual([active, delayed.run_id]);
    await cancelRun(t.runtime, threadId, delayed.run_id, "interrupt");
    await allRunsDone(t.runtime);
    expectExclusive();
  });
});

describe("the exclusivity watch these tests rely on", () => {
  it("reports a run that starts while another is active, or before the other is terminal and has ended", async () => {
    const { runtime } = createTestRuntime({ graphs });
    const probe = watchThreadExclusivity(runtime);
    const enter = (id: string, from: string, to: string) =>
      runtime.adapters.audit.record({ kind: "run", id, thread_id: "t", from, to, cause: "test", at: new Date().toISOString(), worker_id: "w", seq: 0 });

    await enter("a", "pending", "running");
    await enter("b", "pending", "running");
    await enter("a", "running", "success");
    await runtime.adapters.events.open("a");
    await runtime.adapters.events.emit({ run_id: "a", thread_id: "t", seq: 0, name: "end", data: { status: "success" }, at: new Date().toISOString() });
    await enter("c", "pending", "running");
    probe.stop();

    expect(probe.violations).toEqual([
      "Run b entered running while run a was active on thread t.",
      "Run b entered running before run a was terminal.",
      "Run b entered running before run a wrote its end event.",
      "Run c entered running while run b was active on thread t.",
      "Run c entered running before run b was terminal.",
      "Run c entered running before run b wrote its end event.",
    ]);
    expect(probe.maxActive.get("t")).toBe(2);
    expect(probe.startOrder.get("t")).toEqual(["a", "b", "c"]);
  });
});

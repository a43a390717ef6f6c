/**
 * The main rows of the run lifecycle (DESIGN.md §2, §3) with the checkpoints in MongoDB:
 * success, interrupt() and resume, cancel interrupt, and both rollback cases, driven through
 * the embedded runtime's `submit` with MongoDBSaver on the real MongoDB-compatible server.
 */
import { randomUUID } from "node:crypto";
import { MongoDBSaver } from "@langchain/langgraph-checkpoint-mongodb";
import { MongoClient } from "mongodb";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { INTERRUPT_QUESTION } from "../../fixtures/graphs.js";
import {
  UNLIMITED_STEPS,
  cancelRun,
  collectRun,
  createRun,
  createTestRuntime,
  eventNames,
  latestValues,
  lifecycleGraphs,
  messageTexts,
  newId,
  quickSlowGraph,
  runPath,
  waitForEvent,
  type TestRuntime,
} from "../../helpers/runtime.js";
import type { RunEvent } from "../../../src/protocol/events.js";

const client = new MongoClient(inject("mongodbUri"));
const dbName = `runbus_lifecycle_${randomUUID().replaceAll("-", "")}`;
let saver: MongoDBSaver;

const graphs = lifecycleGraphs({
  slowShort: quickSlowGraph(3, 1),
  slowLong: quickSlowGraph(10_000, 10),
});
const ROLLED_BACK = { name: "RunRolledBack", message: "Rolled back by user" };
const human = (content: string) => ({ messages: [{ role: "user", content }] });

let t: TestRuntime;
let threadId: string;

beforeAll(async () => {
  await client.connect();
  saver = new MongoDBSaver({ client, dbName });
  expect(await saver.setup()).toEqual([]);
});
afterAll(async () => {
  await client.db(dbName).dropDatabase();
  await client.close();
});

beforeEach(() => {
  t = createTestRuntime({ graphs, checkpointer: saver });
  threadId = newId("thread");
});
afterEach(async () => {
  await t.runtime.supervisor.drain(0);
});

function tickUpdate(step: number) {
  return (event: RunEvent) => event.name === "updates" && (event.data as { tick?: { step?: number } }).tick?.step === step;
}

describe("run lifecycle with MongoDBSaver", () => {
  it("pending → running → success: checkpoints in MongoDB, the thread idle with the graph's title", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "echo", input: human("mongo") });
    expect(reply).toMatchObject({ accepted: true, disposition: "started" });
    const events = await collectRun(t.runtime, reply.run_id);
    expect(eventNames(events)).toEqual(["metadata", "values", "values", "values", "end"]);
    expect(events.map((event) => event.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(events.at(-1)?.data).toEqual({ status: "success" });
    expect(runPath(t.runtime, reply.run_id)).toEqual(["pending", "running", "success"]);

    const stored = await latestValues(saver, threadId);
    expect(stored).toMatchObject({ count: 2, title: "Echo: mongo" });
    expect(messageTexts(stored)).toEqual(["mongo", "echo: mongo", "echo done"]);
    expect(await t.runtime.adapters.threads.get(threadId)).toMatchObject({ status: "idle", display_name: "Echo: mongo", active_run_id: null });
  });

  it("interrupt() ends success with the question and the thread interrupted; resume completes it", async () => {
    const asked = await createRun(t.runtime, { thread_id: threadId, graph_id: "interrupt", input: human("hi") });
    expect((await collectRun(t.runtime, asked.run_id)).at(-1)?.data).toEqual({
      status: "success",
      interrupts: [{ id: expect.any(String), value: { question: INTERRUPT_QUESTION } }],
    });
    expect(await t.runtime.adapters.threads.get(threadId)).toMatchObject({ status: "interrupted" });

    const resumed = await createRun(t.runtime, { thread_id: threadId, graph_id: "interrupt", command: { resume: "Ada" }, stream_mode: ["updates"] });
    const events = await collectRun(t.runtime, resumed.run_id);
    expect(events.slice(1, -1).map((event) => event.data)).toEqual([
      { ask: { answer: "Ada" } },
      { finish: { messages: [expect.objectContaining({ type: "ai", content: "Hello, Ada!" })] } },
    ]);
    expect(events.at(-1)?.data).toEqual({ status: "success" });
    expect(messageTexts(await latestValues(saver, threadId))).toEqual(["hi", "Hello, Ada!"]);
    expect(await t.runtime.adapters.threads.get(threadId)).toMatchObject({ status: "idle" });
  });

  it("running → interrupted keeps the checkpoints the run wrote", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowLong", config: UNLIMITED_STEPS, input: human("go"), stream_mode: ["updates"] });
    await waitForEvent(t.runtime, reply.run_id, tickUpdate(2));
    await cancelRun(t.runtime, threadId, reply.run_id, "interrupt");

    const events = await collectRun(t.runtime, reply.run_id);
    expect(events.at(-1)?.data).toEqual({ status: "interrupted" });
    expect(runPath(t.runtime, reply.run_id)).toEqual(["pending", "running", "interrupted"]);
    const streamedTicks = eventNames(events).filter((name) => name === "updates").length;
    // Every streamed step's checkpoint is kept, and it is there when `end` is: nothing lands after.
    const kept = await latestValues(saver, threadId);
    expect([streamedTicks, streamedTicks + 1]).toContain(kept?.step);
    expect(messageTexts(kept).slice(0, 3)).toEqual(["go", "tick 1", "tick 2"]);
    expect(await t.runtime.adapters.threads.get(threadId)).toMatchObject({ status: "interrupted", active_run_id: null });
  });

  it("running → rolling_back → error restores the previous run's values as the latest checkpoint", async () => {
    const before = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowShort", input: human("before") });
    await collectRun(t.runtime, before.run_id);
    const preRun = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
    expect(messageTexts(preRun?.checkpoint.channel_values)).toEqual(["before", "tick 1", "tick 2", "tick 3"]);

    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowLong", config: UNLIMITED_STEPS, input: human("during"), stream_mode: ["updates"] });
    await waitForEvent(t.runtime, reply.run_id, tickUpdate(5));
    // LangGraph streams a step's chunk before its checkpoint is durable (durability "async").
    await expect.poll(async () => (await latestValues(saver, threadId))?.step).toBeGreaterThanOrEqual(5);
    await cancelRun(t.runtime, threadId, reply.run_id, "rollback");

    const events = await collectRun(t.runtime, reply.run_id);
    expect(eventNames(events).slice(-2)).toEqual(["error", "end"]);
    expect(events.at(-1)?.data).toEqual({ status: "error", error: ROLLED_BACK });
    expect(runPath(t.runtime, reply.run_id)).toEqual(["pending", "running", "rolling_back", "error"]);

    const restored = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
    expect(restored?.checkpoint.id).not.toBe(preRun?.checkpoint.id);
    expect(restored?.checkpoint.channel_values).toMatchObject({ step: 3 });
    expect(messageTexts(restored?.checkpoint.channel_values)).toEqual(["before", "tick 1", "tick 2", "tick 3"]);
    expect(restored?.pendingWrites).toEqual(preRun?.pendingWrites);
    expect(await t.runtime.adapters.threads.get(threadId)).toMatchObject({ status: "error", active_run_id: null });

    // The thread goes on from the restored state.
    const next = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowShort", input: human("after") });
    expect((await collectRun(t.runtime, next.run_id)).at(-1)?.data).toEqual({ status: "success" });
    expect(messageTexts(await latestValues(saver, threadId))).toEqual(["before", "tick 1", "tick 2", "tick 3", "after", "tick 4"]);
    expect(await t.runtime.adapters.threads.get(threadId)).toMatchObject({ status: "idle" });
  });

  it("running → rolling_back → error on a thread with no checkpoint before the run leaves it with none", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowLong", input: human("first"), config: UNLIMITED_STEPS });
    // The aborted graph is still writing when its stream rejects: the guard must keep those
    // writes from landing after the delete.
    await waitForEvent(t.runtime, reply.run_id, (event: RunEvent) => event.name === "values" && (event.data as { step?: number }).step === 2);
    await cancelRun(t.runtime, threadId, reply.run_id, "rollback");

    const events = await collectRun(t.runtime, reply.run_id);
    expect(events.at(-1)?.data).toEqual({ status: "error", error: ROLLED_BACK });
    expect(await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } })).toBeUndefined();
    expect(await client.db(dbName).collection("checkpoints").countDocuments({ thread_id: threadId })).toBe(0);
  });

  it("running → interrupted: the checkpoint read for the thread's status is the last one the run wrote", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowLong", input: human("first"), config: UNLIMITED_STEPS });
    await waitForEvent(t.runtime, reply.run_id, (event: RunEvent) => event.name === "values" && (event.data as { step?: number }).step === 2);
    await cancelRun(t.runtime, threadId, reply.run_id, "interrupt");
    await collectRun(t.runtime, reply.run_id);
    const atEnd = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });

    // No write of the aborted graph lands after the run ended.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const later = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
    expect(later?.checkpoint.id).toBe(atEnd?.checkpoint.id);
  });
});

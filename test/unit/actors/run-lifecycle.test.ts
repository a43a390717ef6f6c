/**
 * Every row of the run lifecycle (DESIGN.md §2) driven through `runtime.submit` with real
 * LangGraph graphs on a MemorySaver, read back the way a consumer sees it: the run's events
 * (§4.2), its audit path (§4.4), the run and thread records, and the checkpoints.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { BaseMessage } from "@langchain/core/messages";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isComplete } from "../../../src/machines/run-path.js";
import type { RunEvent } from "../../../src/protocol/events.js";
import { Runtime } from "../../../src/runtime.js";
import { CHAT_REPLY, INTERRUPT_QUESTION } from "../../fixtures/graphs.js";
import {
  allRunsDone,
  cancelRun,
  collectRun,
  countCheckpoints,
  createRun,
  createTestRuntime,
  eventNames,
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

const LONG_STEP_MS = 10;
const graphs = lifecycleGraphs({
  slowShort: quickSlowGraph(3, 1),
  // Never finishes within a test: every run of it is cancelled or times out.
  slowLong: quickSlowGraph(10_000, LONG_STEP_MS),
});

const ROLLED_BACK = { name: "RunRolledBack", message: "Rolled back by user" };
const human = (content: string) => ({ messages: [{ role: "user", content }] });

let t: TestRuntime;
let threadId: string;

beforeEach(() => {
  t = createTestRuntime({ graphs });
  threadId = newId("thread");
});

afterEach(async () => {
  await t.runtime.supervisor.drain(0);
});

function seqs(events: readonly RunEvent[]): number[] {
  return events.map((event) => event.seq);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function causes(runId: string): string[] {
  return runTransitions(t.runtime, runId).map((transition) => transition.cause);
}

/** Waits for the slow graph's `updates` chunk of tick `step`. */
function tickUpdate(step: number) {
  return (event: RunEvent) => event.name === "updates" && (event.data as { tick?: { step?: number } }).tick?.step === step;
}

async function thread() {
  return t.runtime.adapters.threads.get(threadId);
}

describe("pending → running → success", () => {
  it("streams metadata, the values chunks and one final end, gapless; records the path, the run and the thread", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "echo", input: human("hello") });
    expect(reply).toMatchObject({ accepted: true, disposition: "started", thread_id: threadId });

    const events = await collectRun(t.runtime, reply.run_id);
    expect(seqs(events)).toEqual(range(events.length));
    expect(eventNames(events)).toEqual(["metadata", "values", "values", "values", "end"]);
    expect(events.every((event) => event.run_id === reply.run_id && event.thread_id === threadId)).toBe(true);
    expect(events[0]?.data).toEqual({ run_id: reply.run_id, thread_id: threadId, attempt: 1 });
    expect(events.at(-2)?.data).toMatchObject({
      count: 2,
      title: "Echo: hello",
      messages: [{ type: "human", content: "hello" }, { type: "ai", content: "echo: hello" }, { type: "ai", content: "echo done" }],
    });
    expect(events.at(-1)?.data).toEqual({ status: "success" });

    expect(runPath(t.runtime, reply.run_id)).toEqual(["pending", "running", "success"]);
    expect(causes(reply.run_id)).toEqual(["accepted", "admitted", "graph_completed"]);
    expect(runTransitions(t.runtime, reply.run_id).map((tr) => tr.from)).toEqual([null, "pending", "running"]);
    expect(isComplete(runPath(t.runtime, reply.run_id))).toBe(true);

    const run = await t.runtime.adapters.runs.get(reply.run_id);
    expect(run).toMatchObject({ status: "success", error: null, attempt: 1, worker_id: "worker-test", graph_id: "echo" });
    expect(run?.started_at).toBeInstanceOf(Date);
    expect(run?.ended_at).toBeInstanceOf(Date);
    expect(run!.ended_at!.getTime()).toBeGreaterThanOrEqual(run!.started_at!.getTime());
    expect(run!.started_at!.getTime()).toBeGreaterThanOrEqual(run!.created_at.getTime());

    expect(await thread()).toMatchObject({ status: "idle", display_name: "Echo: hello", active_run_id: null });
    expect(t.runtime.adapters.audit.list({ kind: "thread", id: threadId }).map((tr) => [tr.to, tr.cause])).toEqual([
      ["idle", "created"],
      ["busy", `claimed:${reply.run_id}`],
      ["idle", `released:${reply.run_id}:success`],
    ]);
  });

  it("a graph paused by interrupt() ends success with the question; a resume run completes it", async () => {
    const asked = await createRun(t.runtime, { thread_id: threadId, graph_id: "interrupt", input: human("hi") });
    const askedEvents = await collectRun(t.runtime, asked.run_id);
    expect(askedEvents.at(-1)).toMatchObject({
      name: "end",
      data: { status: "success", interrupts: [{ id: expect.any(String), value: { question: INTERRUPT_QUESTION } }] },
    });
    expect(runPath(t.runtime, asked.run_id)).toEqual(["pending", "running", "success"]);
    expect(await thread()).toMatchObject({ status: "interrupted", active_run_id: null });

    const resumed = await createRun(t.runtime, {
      thread_id: threadId,
      graph_id: "interrupt",
      command: { resume: "Ada" },
      stream_mode: ["updates"],
    });
    expect(resumed).toMatchObject({ accepted: true, disposition: "started" });
    const events = await collectRun(t.runtime, resumed.run_id);
    expect(eventNames(events)).toEqual(["metadata", "updates", "updates", "end"]);
    expect(events[1]?.data).toEqual({ ask: { answer: "Ada" } });
    expect(events[2]?.data).toMatchObject({ finish: { messages: [{ type: "ai", content: "Hello, Ada!" }] } });
    expect(events.at(-1)?.data).toEqual({ status: "success" });
    expect(await thread()).toMatchObject({ status: "idle", active_run_id: null });
  });
});

describe("running → error", () => {
  it("emits the graph's error before end, and leaves the thread in error", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "failing", input: human("go") });
    const events = await collectRun(t.runtime, reply.run_id);

    expect(seqs(events)).toEqual(range(events.length));
    expect(eventNames(events)).toEqual(["metadata", "values", "values", "error", "end"]);
    expect(events.at(-2)?.data).toEqual({ name: "BoomError", message: "boom" });
    expect(events.at(-1)?.data).toEqual({ status: "error", error: { name: "BoomError", message: "boom" } });
    expect(runPath(t.runtime, reply.run_id)).toEqual(["pending", "running", "error"]);
    expect(causes(reply.run_id).at(-1)).toBe("graph_failed");

    expect(await t.runtime.adapters.runs.get(reply.run_id)).toMatchObject({
      status: "error",
      error: { name: "BoomError", message: "boom" },
    });
    expect(await t.runtime.adapters.journal.list(reply.run_id)).toContainEqual(
      expect.objectContaining({ kind: "error", name: "BoomError", message: "boom" }),
    );
    expect(await thread()).toMatchObject({ status: "error", active_run_id: null });
  });
});

describe("running → interrupted (cancel interrupt)", () => {
  it("ends interrupted, keeps the checkpoints written so far and stops the graph at once", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowLong", config: UNLIMITED_STEPS, input: human("go"), stream_mode: ["updates"] });
    await waitForEvent(t.runtime, reply.run_id, tickUpdate(2));

    expect(await cancelRun(t.runtime, threadId, reply.run_id, "interrupt")).toMatchObject({ accepted: true });
    const events = await collectRun(t.runtime, reply.run_id);
    expect(events.at(-1)).toMatchObject({ name: "end", data: { status: "interrupted" } });
    expect(events.at(-1)?.data).not.toHaveProperty("error");
    expect(eventNames(events).filter((name) => name === "end")).toHaveLength(1);
    const streamedTicks = eventNames(events).filter((name) => name === "updates").length;
    expect(streamedTicks).toBeGreaterThanOrEqual(2);

    expect(runPath(t.runtime, reply.run_id)).toEqual(["pending", "running", "interrupted"]);
    expect(causes(reply.run_id).at(-1)).toBe("cancel_interrupt");
    expect(await t.runtime.adapters.runs.get(reply.run_id)).toMatchObject({ status: "interrupted", error: null });
    expect(await thread()).toMatchObject({ status: "interrupted", active_run_id: null });

    const kept = await latestValues(t.checkpointer, threadId);
    expect(kept).toBeDefined();
    // The abort can land between a step's checkpoint and its chunk, never later.
    expect([streamedTicks, streamedTicks + 1]).toContain(kept?.step);
    const checkpoints = await countCheckpoints(t.checkpointer, threadId);

    // Give a graph that ignored the abort ten steps' time to show it: nothing may follow `end`.
    await sleep(10 * LONG_STEP_MS);
    expect(t.runtime.adapters.events.events(reply.run_id)).toHaveLength(events.length);
    expect(await countCheckpoints(t.checkpointer, threadId)).toBe(checkpoints);
    expect((await latestValues(t.checkpointer, threadId))?.step).toBe(kept?.step);
  });
});

describe("running → rolling_back → error (cancel rollback)", () => {
  it("restores the values the thread had before the run, and ends error 'Rolled back by user'", async () => {
    const before = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowShort", input: human("before") });
    expect((await collectRun(t.runtime, before.run_id)).at(-1)?.data).toEqual({ status: "success" });
    const preRun = await t.checkpointer.getTuple({ configurable: { thread_id: threadId } });
    expect(preRun?.checkpoint.channel_values).toMatchObject({ step: 3 });
    expect(messageTexts(preRun?.checkpoint.channel_values)).toEqual(["before", "tick 1", "tick 2", "tick 3"]);

    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowLong", config: UNLIMITED_STEPS, input: human("during"), stream_mode: ["updates"] });
    // Two ticks of its own (steps 4 and 5) are in the checkpointer before the cancel.
    await waitForEvent(t.runtime, reply.run_id, tickUpdate(5));
    expect((await latestValues(t.checkpointer, threadId))?.step).toBeGreaterThanOrEqual(5);

    await cancelRun(t.runtime, threadId, reply.run_id, "rollback");
    const events = await collectRun(t.runtime, reply.run_id);
    expect(eventNames(events).slice(-2)).toEqual(["error", "end"]);
    expect(events.at(-2)?.data).toEqual(ROLLED_BACK);
    expect(events.at(-1)?.data).toEqual({ status: "error", error: ROLLED_BACK });
    expect(runPath(t.runtime, reply.run_id)).toEqual(["pending", "running", "rolling_back", "error"]);
    expect(causes(reply.run_id)).toEqual(["accepted", "admitted", "cancel_rollback", "restore_done"]);

    const restored = await t.checkpointer.getTuple({ configurable: { thread_id: threadId } });
    expect(restored?.checkpoint.id).not.toBe(preRun?.checkpoint.id);
    expect(restored?.checkpoint.channel_values).toMatchObject({ step: 3 });
    expect(messageTexts(restored?.checkpoint.channel_values)).toEqual(["before", "tick 1", "tick 2", "tick 3"]);
    expect(restored?.pendingWrites).toEqual(preRun?.pendingWrites);
    expect(await t.runtime.adapters.runs.get(reply.run_id)).toMatchObject({ status: "error", error: ROLLED_BACK });
    expect(await thread()).toMatchObject({ status: "error", active_run_id: null });
  });

  it("deletes the thread's checkpoints when the thread had none before the run", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowLong", config: UNLIMITED_STEPS, input: human("first"), stream_mode: ["updates"] });
    await waitForEvent(t.runtime, reply.run_id, tickUpdate(2));
    expect(await countCheckpoints(t.checkpointer, threadId)).toBeGreaterThan(0);

    await cancelRun(t.runtime, threadId, reply.run_id, "rollback");
    expect((await collectRun(t.runtime, reply.run_id)).at(-1)?.data).toEqual({ status: "error", error: ROLLED_BACK });
    expect(runPath(t.runtime, reply.run_id)).toEqual(["pending", "running", "rolling_back", "error"]);
    expect(await t.checkpointer.getTuple({ configurable: { thread_id: threadId } })).toBeUndefined();
    expect(await countCheckpoints(t.checkpointer, threadId)).toBe(0);
    expect(await thread()).toMatchObject({ status: "error", active_run_id: null });
  });
});

describe("running → timeout", () => {
  it("aborts the graph at timeout_ms, ends timeout and leaves the thread in error", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowLong", config: UNLIMITED_STEPS, input: human("go"), timeout_ms: 100 });
    const events = await collectRun(t.runtime, reply.run_id);

    const timedOut = { name: "RunTimeout", message: "Run exceeded its timeout of 100 ms." };
    expect(events.at(-1)).toMatchObject({ name: "end", data: { status: "timeout", error: timedOut } });
    expect(eventNames(events)).not.toContain("error");
    expect(seqs(events)).toEqual(range(events.length));
    expect(runPath(t.runtime, reply.run_id)).toEqual(["pending", "running", "timeout"]);
    expect(causes(reply.run_id).at(-1)).toBe("deadline_passed");
    expect(await t.runtime.adapters.runs.get(reply.run_id)).toMatchObject({ status: "timeout", error: timedOut });
    expect(await thread()).toMatchObject({ status: "error", active_run_id: null });
    // Aborted like an interrupt: what the graph wrote stays.
    expect(await latestValues(t.checkpointer, threadId)).toBeDefined();
  });
});

describe("pending → interrupted / error (cancelling a queued run)", () => {
  it("ends a queued run without ever running it, and leaves the active run alone", async () => {
    const active = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowLong", config: UNLIMITED_STEPS, input: human("active"), stream_mode: ["updates"] });
    await waitForEvent(t.runtime, active.run_id, tickUpdate(1));
    const interrupted = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowLong", config: UNLIMITED_STEPS, input: human("queued-1"), multitask_strategy: "enqueue" });
    const rolledBack = await createRun(t.runtime, { thread_id: threadId, graph_id: "slowLong", config: UNLIMITED_STEPS, input: human("queued-2"), multitask_strategy: "enqueue" });
    expect(interrupted).toMatchObject({ accepted: true, disposition: "queued" });
    expect(rolledBack).toMatchObject({ accepted: true, disposition: "queued" });

    expect(await cancelRun(t.runtime, threadId, interrupted.run_id, "interrupt")).toMatchObject({ accepted: true });
    const interruptedEvents = await collectRun(t.runtime, interrupted.run_id);
    expect(eventNames(interruptedEvents)).toEqual(["metadata", "end"]);
    expect(interruptedEvents.at(-1)?.data).toEqual({ status: "interrupted" });
    expect(runPath(t.runtime, interrupted.run_id)).toEqual(["pending", "interrupted"]);
    expect(causes(interrupted.run_id)).toEqual(["accepted", "cancel_interrupt"]);
    expect(await t.runtime.adapters.runs.get(interrupted.run_id)).toMatchObject({ status: "interrupted", started_at: null, error: null });

    await cancelRun(t.runtime, threadId, rolledBack.run_id, "rollback");
    const rolledBackEvents = await collectRun(t.runtime, rolledBack.run_id);
    // Every run that ends `error` reports why in an `error` event before its `end` (DESIGN §4.2).
    expect(eventNames(rolledBackEvents)).toEqual(["metadata", "error", "end"]);
    expect(rolledBackEvents.at(-1)?.data).toEqual({ status: "error", error: ROLLED_BACK });
    expect(runPath(t.runtime, rolledBack.run_id)).toEqual(["pending", "error"]);
    expect(causes(rolledBack.run_id)).toEqual(["accepted", "cancel_rollback"]);
    expect(await t.runtime.adapters.runs.get(rolledBack.run_id)).toMatchObject({ status: "error", started_at: null, error: ROLLED_BACK });

    // The active run kept running and holds the thread.
    expect(runPath(t.runtime, active.run_id)).toEqual(["pending", "running"]);
    expect(await thread()).toMatchObject({ status: "busy", active_run_id: active.run_id });

    await cancelRun(t.runtime, threadId, active.run_id, "interrupt");
    await collectRun(t.runtime, active.run_id);
    await allRunsDone(t.runtime);
    expect(await thread()).toMatchObject({ status: "interrupted", active_run_id: null });
    const texts = messageTexts(await latestValues(t.checkpointer, threadId));
    expect(texts[0]).toBe("active");
    expect(texts).not.toContain("queued-1");
    expect(texts).not.toContain("queued-2");
  });
});

describe("stream modes", () => {
  it("messages-tuple streams [message, metadata] chunks named messages", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "chat", input: human("hello there"), stream_mode: ["messages-tuple"] });
    const events = await collectRun(t.runtime, reply.run_id);
    const chunks = events.filter((event) => event.name === "messages");
    expect(eventNames(events)).toEqual(["metadata", ...chunks.map(() => "messages"), "end"]);
    expect(chunks.length).toBeGreaterThanOrEqual(10);
    for (const chunk of chunks) {
      expect(chunk.data).toEqual([
        expect.objectContaining({ type: "ai", content: expect.any(String) }),
        expect.objectContaining({ langgraph_node: "model", run_id: reply.run_id, thread_id: threadId }),
      ]);
    }
    expect(chunks.map((chunk) => (chunk.data as [{ content: string }])[0].content).join("")).toBe(CHAT_REPLY);
  });

  it("rejects the events mode with unsupported_stream_mode and stores nothing", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "echo", input: human("x"), stream_mode: ["values", "events"] });
    expect(reply).toMatchObject({ accepted: false, code: "unsupported_stream_mode", thread_id: threadId });
    expect(reply.reason).toContain('Stream mode "events" is not supported');
    expect(await t.runtime.adapters.runs.get(reply.run_id)).toBeUndefined();
    expect(t.runtime.adapters.events.events(reply.run_id)).toEqual([]);
    expect(await thread()).toBeUndefined();
  });

  it("names subgraph chunks mode|node:task_id with stream_subgraphs", async () => {
    const reply = await createRun(t.runtime, {
      thread_id: threadId,
      graph_id: "subgraph",
      input: { messages: [] },
      stream_mode: ["updates"],
      stream_subgraphs: true,
    });
    const events = await collectRun(t.runtime, reply.run_id);
    const names = eventNames(events);
    expect(names).toHaveLength(6);
    expect(names[0]).toBe("metadata");
    expect(names[1]).toBe("updates");
    expect(names[2]).toMatch(/^updates\|child:[0-9a-f-]{36}$/);
    expect(names[3]).toBe(names[2]);
    expect(names.slice(4)).toEqual(["updates", "end"]);
    expect(events[2]?.data).toEqual({ inner_first: { trail: ["prepare", "inner_first"] } });
    expect(events[4]?.data).toMatchObject({ child: { trail: ["prepare", "inner_first", "inner_second"] } });
  });

  it("interrupt_before pauses the run before the node: success, thread interrupted; a run without input continues", async () => {
    const paused = await createRun(t.runtime, {
      thread_id: threadId,
      graph_id: "echo",
      input: human("hi"),
      stream_mode: ["updates"],
      interrupt_before: ["second"],
    });
    const events = await collectRun(t.runtime, paused.run_id);
    expect(eventNames(events)).toEqual(["metadata", "updates", "updates", "end"]);
    expect(Object.keys(events[1]?.data as object)).toEqual(["first"]);
    expect(events[2]?.data).toEqual({ __interrupt__: [] });
    expect(events.at(-1)?.data).toEqual({ status: "success" });
    expect(await thread()).toMatchObject({ status: "interrupted", display_name: "Echo: hi" });
    expect(await t.checkpointer.getTuple({ configurable: { thread_id: threadId } })).toMatchObject({
      checkpoint: { channel_values: { count: 1 } },
    });

    const continued = await createRun(t.runtime, { thread_id: threadId, graph_id: "echo", stream_mode: ["updates"] });
    const rest = await collectRun(t.runtime, continued.run_id);
    expect(eventNames(rest)).toEqual(["metadata", "updates", "end"]);
    expect(Object.keys(rest[1]?.data as object)).toEqual(["second"]);
    expect(await thread()).toMatchObject({ status: "idle", display_name: "Echo: hi" });
    expect((await latestValues(t.checkpointer, threadId))?.count).toBe(2);
  });

  it("checkpoint_id starts the run from an earlier checkpoint, forking the thread there", async () => {
    const first = await createRun(t.runtime, { thread_id: threadId, graph_id: "echo", input: human("hi") });
    await collectRun(t.runtime, first.run_id);
    let afterFirstNode: string | undefined;
    for await (const tuple of t.checkpointer.list({ configurable: { thread_id: threadId } })) {
      if (tuple.metadata?.step === 1) afterFirstNode = tuple.checkpoint.id;
    }
    expect(afterFirstNode).toBeDefined();

    const replay = await createRun(t.runtime, {
      thread_id: threadId,
      graph_id: "echo",
      checkpoint_id: afterFirstNode,
      stream_mode: ["updates"],
    });
    const events = await collectRun(t.runtime, replay.run_id);
    // From the checkpoint after `first`, only `second` is left to run.
    expect(eventNames(events)).toEqual(["metadata", "updates", "end"]);
    expect(Object.keys(events[1]?.data as object)).toEqual(["second"]);

    // LangGraph branches off the chosen checkpoint with a `fork` copy of it, then runs on from there.
    const latest = await t.checkpointer.getTuple({ configurable: { thread_id: threadId } });
    const fork = await t.checkpointer.getTuple(latest!.parentConfig!);
    expect(fork?.metadata?.source).toBe("fork");
    expect(fork?.parentConfig?.configurable?.checkpoint_id).toBe(afterFirstNode);
    expect(latest?.checkpoint.channel_values).toMatchObject({ count: 2 });
    expect(messageTexts(latest?.checkpoint.channel_values)).toEqual(["hi", "echo: hi", "echo done"]);
  });
});

describe("token usage and journal", () => {
  /** What the fake model put in usage_metadata on the AI messages it produced. */
  function reportedUsage(values: Record<string, unknown> | undefined) {
    const total = { input_tokens: 0, output_tokens: 0, total_tokens: 0 };
    for (const message of (values?.messages ?? []) as BaseMessage[]) {
      const usage = (message as { usage_metadata?: typeof total }).usage_metadata;
      if (message.type !== "ai" || !usage) continue;
      total.input_tokens += usage.input_tokens;
      total.output_tokens += usage.output_tokens;
      total.total_tokens += usage.total_tokens;
    }
    return total;
  }

  it("sums the chat model's usage into the run record and journals the LLM call", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "chat", input: human("hello there") });
    await collectRun(t.runtime, reply.run_id);

    // Input: the two prompt words; output: one token per streamed word.
    const expected = { input_tokens: 2, output_tokens: 20, total_tokens: 22 };
    expect(reportedUsage(await latestValues(t.checkpointer, threadId))).toEqual(expected);
    expect((await t.runtime.adapters.runs.get(reply.run_id))?.token_usage).toEqual(expected);
    // The human message first, then the graph's start, its model call, and its end with a duration.
    expect(await t.runtime.adapters.journal.list(reply.run_id)).toEqual([
      expect.objectContaining({ kind: "human_message", run_id: reply.run_id, thread_id: threadId, source: "input", content: "hello there" }),
      expect.objectContaining({ kind: "chain_start", run_id: reply.run_id }),
      expect.objectContaining({ kind: "llm_call", run_id: reply.run_id, thread_id: threadId, model: "ScriptedChatModel", token_usage: expected }),
      expect.objectContaining({ kind: "chain_end", run_id: reply.run_id, latency_ms: expect.any(Number) }),
    ]);
  });

  it("sums both model calls of the agent and journals the tool result", async () => {
    const reply = await createRun(t.runtime, { thread_id: threadId, graph_id: "agent", input: human("add two and three") });
    expect((await collectRun(t.runtime, reply.run_id)).at(-1)?.data).toEqual({ status: "success" });

    const reported = reportedUsage(await latestValues(t.checkpointer, threadId));
    expect(reported.total_tokens).toBeGreaterThan(0);
    expect(reported).toEqual({ input_tokens: 9, output_tokens: 6, total_tokens: 15 });
    expect((await t.runtime.adapters.runs.get(reply.run_id))?.token_usage).toEqual(reported);

    const journal = await t.runtime.adapters.journal.list(reply.run_id);
    expect(journal.map((entry) => entry.kind)).toEqual(["human_message", "chain_start", "llm_call", "tool_result", "llm_call", "chain_end"]);
    expect(journal[3]).toMatchObject({ kind: "tool_result", tool: "add", output: { type: "tool", content: "5" } });
  });
});

describe("idempotent creates", () => {
  it("runs a run_id once however often it is created", async () => {
    const runId = newId("run");
    const command = { thread_id: threadId, graph_id: "echo", input: human("once"), run_id: runId };
    const replies = await Promise.all([createRun(t.runtime, command), createRun(t.runtime, command)]);
    expect(replies.map((reply) => reply.disposition)).toEqual(["started", "duplicate"]);
    expect(replies.every((reply) => reply.accepted && reply.run_id === runId)).toBe(true);

    const events = await collectRun(t.runtime, runId);
    expect(eventNames(events).filter((name) => name === "metadata")).toHaveLength(1);
    expect(eventNames(events).filter((name) => name === "end")).toHaveLength(1);
    expect(await createRun(t.runtime, command)).toMatchObject({ accepted: true, disposition: "duplicate" });
    expect(runPath(t.runtime, runId)).toEqual(["pending", "running", "success"]);
    expect(await t.runtime.adapters.runs.listByThread(threadId)).toHaveLength(1);
    expect((await latestValues(t.checkpointer, threadId))?.count).toBe(2);

    const elsewhere = await createRun(t.runtime, { ...command, thread_id: newId("thread") });
    expect(elsewhere).toMatchObject({ accepted: false, code: "run_exists" });
  });
});

describe("idempotent creates racing elsewhere", () => {
  it("the same run_id created on two threads at once runs once; the other is refused with run_exists", async () => {
    const runId = newId("run");
    const otherThread = newId("thread");
    const [first, second] = await Promise.all([
      createRun(t.runtime, { thread_id: threadId, graph_id: "echo", input: human("one"), run_id: runId }),
      createRun(t.runtime, { thread_id: otherThread, graph_id: "echo", input: human("two"), run_id: runId }),
    ]);
    expect(first).toMatchObject({ accepted: true, disposition: "started" });
    expect(second).toMatchObject({ accepted: false, code: "run_exists" });
    expect(second.reason).toBe(`Run ${runId} already exists on thread ${threadId}.`);

    const events = await collectRun(t.runtime, runId);
    expect(eventNames(events)).toEqual(["metadata", "values", "values", "values", "end"]);
    expect(events.every((event) => event.thread_id === threadId)).toBe(true);
    expect(runPath(t.runtime, runId)).toEqual(["pending", "running", "success"]);
    expect(await latestValues(t.checkpointer, otherThread)).toBeUndefined();
  });

  it("a retry delivered to two workers sharing the stores runs once; the later one is a duplicate", async () => {
    // A second worker: its own supervisor and admission, the same run, thread and event stores.
    const other = new Runtime({ graphs, checkpointer: t.checkpointer, adapters: t.runtime.adapters, workerId: "worker-other" });
    const runId = newId("run");
    const command = { type: "run.create" as const, thread_id: threadId, graph_id: "echo", input: human("retry"), run_id: runId };
    const replies = await Promise.all([t.runtime.submit(command), other.submit(command)]);
    expect(replies.map((reply) => reply.accepted)).toEqual([true, true]);
    expect(replies.map((reply) => reply.disposition).sort()).toEqual(["duplicate", "started"]);

    const events = await collectRun(t.runtime, runId);
    expect(eventNames(events)).toEqual(["metadata", "values", "values", "values", "end"]);
    expect(runPath(t.runtime, runId)).toEqual(["pending", "running", "success"]);
    // `end` comes before the thread's release; once that is done, neither worker hosts anything.
    await Promise.all([allRunsDone(t.runtime), allRunsDone(other)]);
    expect(t.runtime.supervisor.activeRuns.size + other.supervisor.activeRuns.size).toBe(0);
    expect((await latestValues(t.checkpointer, threadId))?.count).toBe(2);
  });
});

describe("invalid input through submit", () => {
  it("answers bad commands with a code and still runs the next valid one", async () => {
    const badJson = await t.runtime.submit('{"type": "run.create", "thread_id": ');
    expect(badJson).toMatchObject({ accepted: false, code: "invalid_json", thread_id: null });

    const schema = await t.runtime.submit({ type: "run.create", thread_id: threadId, graph_id: "echo", stream_subgraphs: "yes" });
    expect(schema).toMatchObject({ accepted: false, code: "invalid_command", thread_id: threadId });
    expect(schema.reason).toContain("stream_subgraphs");

    const unknownField = await t.runtime.submit(JSON.stringify({ type: "run.create", thread_id: threadId, graph_id: "echo", priority: 1 }));
    expect(unknownField).toMatchObject({ accepted: false, code: "invalid_command", thread_id: threadId });

    const badThreadId = await t.runtime.submit({ type: "run.create", thread_id: "no spaces allowed", graph_id: "echo" });
    expect(badThreadId).toMatchObject({ accepted: false, code: "invalid_command", thread_id: null });
    expect(badThreadId.reason).toContain("thread_id");

    const badRunId = await t.runtime.submit({ type: "run.create", thread_id: threadId, run_id: "a/b", graph_id: "echo" });
    expect(badRunId).toMatchObject({ accepted: false, code: "invalid_command", thread_id: threadId });
    expect(badRunId.reason).toContain("run_id");

    const unknownGraph = await createRun(t.runtime, { thread_id: threadId, graph_id: "nope" });
    expect(unknownGraph).toMatchObject({ accepted: false, code: "unknown_graph" });
    expect(unknownGraph.reason).toContain("'nope'");

    // Each got its reply; none left a thread, a run or a transition behind.
    expect(t.runtime.adapters.replies.replies.map((reply) => reply.code)).toEqual([
      "invalid_json",
      "invalid_command",
      "invalid_command",
      "invalid_command",
      "invalid_command",
      "unknown_graph",
    ]);
    expect(await t.runtime.adapters.threads.list()).toEqual([]);
    expect(t.runtime.adapters.audit.list()).toEqual([]);

    const valid = await createRun(t.runtime, { thread_id: threadId, graph_id: "echo", input: human("still here") });
    expect(valid).toMatchObject({ accepted: true, disposition: "started" });
    expect((await collectRun(t.runtime, valid.run_id)).at(-1)?.data).toEqual({ status: "success" });
    expect(await thread()).toMatchObject({ status: "idle", display_name: "Echo: still here" });
  });
});

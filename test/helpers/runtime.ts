/**
 * Shared helpers for behaviour tests that drive an embedded runtime through `submit`, the way
 * commands arrive from the wire, and read back what it published: run events, audit paths,
 * checkpoints.
 */
import { randomUUID } from "node:crypto";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { MemorySaver } from "@langchain/langgraph";
import type { Transition } from "../../src/protocol/audit.js";
import type { CommandInput } from "../../src/protocol/commands.js";
import type { RunEvent } from "../../src/protocol/events.js";
import type { Reply } from "../../src/protocol/replies.js";
import { createEmbeddedRuntime, type EmbeddedRuntime, type Runtime } from "../../src/runtime.js";
import type { GraphEntry } from "../../src/graph/registry.js";
import { testGraphs, slowGraph, type GraphFactoryOptions } from "../fixtures/graphs.js";

/** A run.create command as a producer writes it: every field but thread_id and graph_id optional. */
export type RunCreateInput = Omit<Extract<CommandInput, { type: "run.create" }>, "type">;

/** The slow graph with short steps, so cancels and queues are exercised without slowing the suite. */
export function quickSlowGraph(steps = 20, stepDelayMs = 15) {
  return (options: GraphFactoryOptions) => slowGraph({ ...options, steps, stepDelayMs });
}

/** For runs of a graph that never finishes by itself: LangGraph stops any run at 25 steps by default. */
export const UNLIMITED_STEPS = { recursion_limit: 1_000_000 };

/** The test graphs, with `slow` shortened, plus any extras a test registers. */
export function lifecycleGraphs(extra: Record<string, GraphEntry> = {}): Record<string, GraphEntry> {
  return { ...testGraphs, slow: quickSlowGraph(), ...extra };
}

export interface TestRuntime {
  runtime: EmbeddedRuntime;
  checkpointer: BaseCheckpointSaver;
}

export function createTestRuntime(
  options: { graphs?: Record<string, GraphEntry>; checkpointer?: BaseCheckpointSaver } = {},
): TestRuntime {
  const checkpointer = options.checkpointer ?? new MemorySaver();
  const runtime = createEmbeddedRuntime({ graphs: options.graphs ?? lifecycleGraphs(), checkpointer, workerId: "worker-test" });
  return { runtime, checkpointer };
}

/** A fresh id that matches the id pattern, readable in failure output. */
export function newId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Submits a run.create with a client-chosen run id (unless given) and returns the reply and the id. */
export async function createRun(runtime: EmbeddedRuntime, fields: RunCreateInput): Promise<Reply & { run_id: string }> {
  const runId = fields.run_id ?? newId("run");
  const reply = await runtime.submit({ type: "run.create", ...fields, run_id: runId });
  return { ...reply, run_id: runId };
}

export function cancelRun(
  runtime: EmbeddedRuntime,
  threadId: string,
  runId: string,
  action: "interrupt" | "rollback",
): Promise<Reply> {
  return runtime.submit({ type: "run.cancel", thread_id: threadId, run_id: runId, action });
}

/** Every event of the run, replayed from seq 0 and followed live until its `end`. */
export async function collectRun(runtime: EmbeddedRuntime, runId: string): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const event of runtime.adapters.events.read(runId)) events.push(event);
  return events;
}

/** The statuses a run went through, read back from the audit log in seq order. */
export function runPath(runtime: EmbeddedRuntime, runId: string): string[] {
  return runTransitions(runtime, runId).map((t) => t.to);
}

export function runTransitions(runtime: EmbeddedRuntime, runId: string): Transition[] {
  return runtime.adapters.audit.list({ kind: "run", id: runId }).sort((a, b) => a.seq - b.seq);
}

/** Reads the run's stream until an event matches, and returns it; fails if the run ends first. */
export async function waitForEvent(
  runtime: EmbeddedRuntime,
  runId: string,
  matches: (event: RunEvent) => boolean,
): Promise<RunEvent> {
  for await (const event of runtime.adapters.events.read(runId)) {
    if (matches(event)) return event;
    if (event.name === "end") break;
  }
  throw new Error(`Run ${runId} ended before the awaited event.`);
}

/** Resolves once every run this worker hosts has finished (`end` written, thread released). */
export async function allRunsDone(runtime: Runtime): Promise<void> {
  while (runtime.supervisor.activeRuns.size > 0) {
    await Promise.all([...runtime.supervisor.activeRuns.values()].map((run) => run.done));
  }
}

export function eventNames(events: readonly RunEvent[]): string[] {
  return events.map((event) => event.name);
}

/** The channel values of the thread's latest root checkpoint, or undefined when it has none. */
export async function latestValues(checkpointer: BaseCheckpointSaver, threadId: string): Promise<Record<string, unknown> | undefined> {
  const tuple = await checkpointer.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
  return tuple?.checkpoint.channel_values as Record<string, unknown> | undefined;
}

/** How many checkpoints the thread has in its root namespace. */
export async function countCheckpoints(checkpointer: BaseCheckpointSaver, threadId: string): Promise<number> {
  let count = 0;
  for await (const _tuple of checkpointer.list({ configurable: { thread_id: threadId, checkpoint_ns: "" } })) count += 1;
  return count;
}

/** The text of each message in a channel value, for comparing states without message ids. */
export function messageTexts(values: Record<string, unknown> | undefined): string[] {
  const messages = (values?.messages ?? []) as Array<{ text?: string; content?: unknown }>;
  return messages.map((message) => message.text ?? String(message.content));
}

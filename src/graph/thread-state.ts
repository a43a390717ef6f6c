import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import type { RunnableGraph } from "./registry.js";
import { toJson, type JsonValue } from "./serialize.js";

export interface ThreadState {
  /** The latest checkpoint has pending tasks: the graph paused (interrupt() or interrupt_before/after). */
  hasNext: boolean;
  title: string | null;
  interrupts: JsonValue[];
}

/** What the latest root checkpoint says about the thread; undefined when the graph keeps no checkpoints. */
export async function readThreadState(graph: RunnableGraph, threadId: string): Promise<ThreadState | undefined> {
  if (!graph.checkpointer) return undefined;
  const state = await graph.getState({ configurable: { thread_id: threadId } });
  const values = state.values as { title?: unknown } | null | undefined;
  const title = typeof values?.title === "string" && values.title.length > 0 ? values.title : null;
  return {
    hasNext: state.next.length > 0,
    title,
    interrupts: state.tasks.flatMap((task) => (task.interrupts ?? []).map((i) => toJson(i))),
  };
}

/** LangGraph's channel for the interrupts a step raised (its `INTERRUPT` constant). */
const INTERRUPT_CHANNEL = "__interrupt__";

/**
 * The interrupts the thread's latest root checkpoint waits on, read from its pending writes, so
 * no graph is needed (the CLI has none). Each is `{id, value}` as LangGraph stores it.
 */
export async function pendingInterrupts(saver: Pick<BaseCheckpointSaver, "getTuple">, threadId: string): Promise<JsonValue[]> {
  const tuple = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
  return (tuple?.pendingWrites ?? [])
    .filter(([, channel]) => channel === INTERRUPT_CHANNEL)
    .flatMap(([, , value]) => (Array.isArray(value) ? value : [value]))
    .map((interrupt) => toJson(interrupt));
}


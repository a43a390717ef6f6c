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

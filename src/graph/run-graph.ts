import type { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { RunCreateCommand } from "../protocol/commands.js";
import { graphConfig, graphInput } from "./graph-input.js";
import type { RunnableGraph } from "./registry.js";
import type { JsonValue } from "./serialize.js";
import { mapStreamChunk } from "./stream-chunks.js";
import { toLangGraphStreamModes } from "./stream-modes.js";
import { readThreadState } from "./thread-state.js";
import { EmitWindow } from "./emit-window.js";

/** Chunks of a run that may await the sink's acknowledgement at once. */
export const EMIT_WINDOW = 256;

export interface GraphRunOptions {
  runId: string;
  request: RunCreateCommand;
  signal: AbortSignal;
  /** Emits one mapped chunk; up to EMIT_WINDOW are unacknowledged at once, so a slow sink slows the graph. */
  emit: (name: string, data: JsonValue) => Promise<void>;
  callbacks?: BaseCallbackHandler[];
  resuming?: boolean;
}

/**
 * Streams one run of a graph, emitting every chunk under its runbus event name, and returns the
 * interrupts the graph paused on. Throws what the graph throws; an abort ends it early.
 */
export async function runGraph(graph: RunnableGraph, options: GraphRunOptions): Promise<{ interrupts: JsonValue[] }> {
  const { request, signal } = options;
  const subgraphs = request.stream_subgraphs ?? false;
  const config = graphConfig(request, options.runId, { resuming: options.resuming ?? false });
  const stream = await graph.stream(graphInput(request, { resuming: options.resuming ?? false }), {
    ...config,
    streamMode: toLangGraphStreamModes(request.stream_mode),
    subgraphs,
    signal,
    // As the seed builds it: the caller's context, with the run's own ids, which it cannot override.
    context: { ...request.context, thread_id: request.thread_id, run_id: options.runId },
    ...(request.interrupt_before ? { interruptBefore: request.interrupt_before } : {}),
    ...(request.interrupt_after ? { interruptAfter: request.interrupt_after } : {}),
    ...(request.durability ? { durability: request.durability } : {}),
    ...(options.callbacks ? { callbacks: options.callbacks } : {}),
  });
  const window = new EmitWindow(EMIT_WINDOW);
  try {
    for await (const raw of stream) {
      if (signal.aborted) break;
      const chunk = mapStreamChunk(raw, subgraphs);
      await window.push(options.emit(chunk.name, chunk.data));
    }
  } finally {
    // Every chunk is acknowledged before the run goes on to its `end` (or its error).
    await window.drain().catch(() => undefined);
  }
  await window.drain();
  signal.throwIfAborted();
  const state = await readThreadState(graph, request.thread_id);
  return { interrupts: state?.interrupts ?? [] };
}

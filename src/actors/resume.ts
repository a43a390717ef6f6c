import { RunbusError } from "../errors.js";
import type { GraphRegistry, RunnableGraph } from "../graph/registry.js";
import { readThreadState } from "../graph/thread-state.js";
import type { RunStore } from "../ports.js";
import type { RunCreateCommand } from "../protocol/commands.js";

/** A run.create whose graph is known: given, or the thread's. */
export type ResolvedRunCreate = RunCreateCommand & { graph_id: string };

/**
 * The graph a run.create runs. A run that resumes a thread (`command`) may leave graph_id out: it
 * runs the graph of the thread's latest run, so a human answering an interrupt need not know it.
 */
export async function resolveGraph(runs: Pick<RunStore, "listByThread">, command: RunCreateCommand): Promise<ResolvedRunCreate> {
  if (command.graph_id !== undefined) return command as ResolvedRunCreate;
  if (!command.command) {
    throw new RunbusError("invalid_command", "Invalid command: graph_id is required, except for a run that resumes a thread with `command`.");
  }
  const latest = (await runs.listByThread(command.thread_id, { limit: 1 }))[0];
  if (!latest) {
    throw new RunbusError("unknown_graph", `Thread ${command.thread_id} has no runs to resume, so its graph is unknown: give graph_id.`);
  }
  return { ...command, graph_id: latest.graph_id };
}

/**
 * Refuses a resume (`command.resume`) of a thread that waits on no interrupt: LangGraph would run
 * the thread's pending nodes with nothing to resume, which is never what the sender meant.
 */
export async function checkResumable(graphs: GraphRegistry, command: ResolvedRunCreate): Promise<void> {
  if (command.command?.resume === undefined) return;
  await requirePendingInterrupt(await graphs.resolve(command.graph_id), command);
}

/** `checkResumable` on the graph itself, for a queued resume as it starts. */
export async function requirePendingInterrupt(graph: RunnableGraph, command: RunCreateCommand): Promise<void> {
  if (command.command?.resume === undefined) return;
  const state = await readThreadState(graph, command.thread_id);
  // Without a checkpointer there is no paused state to check against; LangGraph decides.
  if (state && state.interrupts.length === 0) {
    throw new RunbusError(
      "no_pending_interrupt",
      `Thread ${command.thread_id} is not waiting on an interrupt, so there is nothing to resume; send input instead of command.resume.`,
    );
  }
}

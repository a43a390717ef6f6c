import type { RunnableConfig } from "@langchain/core/runnables";
import type { BaseCheckpointSaver, CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { RunbusError } from "../errors.js";
import type { GraphRegistry } from "../graph/registry.js";
import { threadBelongsTo, type RunStore, type ThreadRecord } from "../ports.js";
import type { ThreadCopyCommand, ThreadUpdateStateCommand } from "../protocol/commands.js";
import type { Reply } from "../protocol/replies.js";
import type { ThreadStoreActor } from "./thread-store-actor.js";

export interface ThreadStateDeps {
  threads: ThreadStoreActor;
  runs: Pick<RunStore, "listPending" | "listByThread">;
  /** The graphs bound to the unguarded checkpointer: a thread fenced after a cancel still takes these writes. */
  graphs: GraphRegistry;
  checkpointer?: BaseCheckpointSaver;
}

interface UpdatableGraph {
  updateState(config: RunnableConfig, values: unknown, asNode?: string): Promise<RunnableConfig>;
}

/**
 * Thread writes that must not interleave with the thread's runs: the supervisor calls these inside
 * the thread's admission, and they refuse a thread that holds or awaits a run.
 */
export async function updateThreadState(deps: ThreadStateDeps, command: ThreadUpdateStateCommand): Promise<Reply> {
  await idleThread(deps, command.thread_id);
  if (!deps.checkpointer) throw new RunbusError("invalid_state", "This worker keeps no checkpoints, so a thread's state cannot be updated.");
  if (!deps.graphs.has(command.graph_id)) throw new RunbusError("unknown_graph", `Unknown graph_id '${command.graph_id}'; known graphs: ${deps.graphs.ids().join(", ")}.`);
  const graph = (await deps.graphs.resolve(command.graph_id)) as unknown as UpdatableGraph;
  const config: RunnableConfig = {
    configurable: { thread_id: command.thread_id, checkpoint_ns: "", ...(command.checkpoint_id ? { checkpoint_id: command.checkpoint_id } : {}) },
  };
  let written: RunnableConfig;
  try {
    written = await graph.updateState(config, command.values, command.as_node);
  } catch (error) {
    // LangGraph refuses an ambiguous or unknown as_node, a value its channels reject: bad input, not a fault.
    throw new RunbusError("invalid_command", `The state update was refused: ${error instanceof Error ? error.message : String(error)}`);
  }
  const configurable = written.configurable ?? {};
  return {
    command_id: command.command_id ?? null,
    thread_id: command.thread_id,
    accepted: true,
    result: {
      checkpoint: { thread_id: command.thread_id, checkpoint_ns: configurable.checkpoint_ns ?? "", checkpoint_id: configurable.checkpoint_id ?? null },
    },
  };
}

/**
 * Copies every checkpoint (all namespaces, oldest first, ids kept) and pending write of an idle
 * thread to a new one, whose metadata is the original's plus its `graph_id`.
 */
export async function copyThread(deps: ThreadStateDeps, command: ThreadCopyCommand): Promise<Reply> {
  const source = await idleThread(deps, command.thread_id);
  if (!threadBelongsTo(source, command.owner)) throw new RunbusError("thread_not_found", `Thread ${command.thread_id} does not exist.`);
  const saver = deps.checkpointer;
  if (!saver) throw new RunbusError("invalid_state", "This worker keeps no checkpoints, so a thread cannot be copied.");
  // The copy has no runs to tell its graph by: like the API server's threads, it names it in its metadata.
  const graphId = source.metadata.graph_id ?? (await deps.runs.listByThread(command.thread_id, { limit: 1 }))[0]?.graph_id;
  const metadata = graphId === undefined ? source.metadata : { ...source.metadata, graph_id: graphId };
  const { created } = await deps.threads.ensure(command.new_thread_id, metadata, command.owner ?? source.owner);
  if (!created) throw new RunbusError("thread_exists", `Thread ${command.new_thread_id} already exists.`);
  const tuples: CheckpointTuple[] = [];
  for await (const tuple of saver.list({ configurable: { thread_id: command.thread_id } })) tuples.push(tuple);
  // Parents before children, so every copied checkpoint's parent is there when it lands.
  tuples.sort((a, b) => (a.checkpoint.id < b.checkpoint.id ? -1 : a.checkpoint.id > b.checkpoint.id ? 1 : 0));
  for (const tuple of tuples) {
    const ns = (tuple.config.configurable?.checkpoint_ns as string | undefined) ?? "";
    const parentId = tuple.parentConfig?.configurable?.checkpoint_id as string | undefined;
    const target = { configurable: { thread_id: command.new_thread_id, checkpoint_ns: ns, ...(parentId ? { checkpoint_id: parentId } : {}) } };
    const stored = await saver.put(target, tuple.checkpoint, tuple.metadata ?? { source: "update", step: -1, parents: {} }, tuple.checkpoint.channel_versions);
    const byTask = new Map<string, Array<[string, unknown]>>();
    for (const [taskId, channel, value] of tuple.pendingWrites ?? []) byTask.set(taskId, [...(byTask.get(taskId) ?? []), [channel, value]]);
    for (const [taskId, writes] of byTask) await saver.putWrites(stored, writes, taskId);
  }
  return { command_id: command.command_id ?? null, thread_id: command.thread_id, accepted: true, result: { thread_id: command.new_thread_id } };
}

async function idleThread(deps: ThreadStateDeps, threadId: string): Promise<ThreadRecord> {
  const thread = await deps.threads.get(threadId);
  if (!thread) throw new RunbusError("thread_not_found", `Thread ${threadId} does not exist.`);
  if (thread.active_run_id !== null || (await deps.runs.listPending(threadId)).length > 0) {
    throw new RunbusError("thread_busy", `Thread ${threadId} is busy with run ${thread.active_run_id ?? "(queued runs)"}; try again once it is idle.`);
  }
  return thread;
}

import { Command } from "@langchain/langgraph";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { RunCreateCommand } from "../protocol/commands.js";

/** What `graph.stream` gets as input: the command's `command` as a LangGraph Command, else its input. */
export function graphInput(request: RunCreateCommand, options: { resuming?: boolean } = {}): unknown {
  // A run taken over after a worker loss continues from its last checkpoint.
  if (options.resuming) return null;
  if (request.command) {
    const { resume, goto, update } = request.command;
    return new Command({
      ...(resume !== undefined ? { resume } : {}),
      ...(goto !== undefined ? { goto } : {}),
      ...(update !== undefined ? { update } : {}),
    });
  }
  return request.input ?? null;
}

/** The RunnableConfig of a run: the command's config (snake_case keys as the LangGraph API takes them) plus the thread. */
export function graphConfig(request: RunCreateCommand, runId: string, options: { resuming?: boolean } = {}): RunnableConfig {
  const { configurable, recursion_limit, recursionLimit, tags, ...rest } = (request.config ?? {}) as {
    configurable?: Record<string, unknown>;
    recursion_limit?: number;
    recursionLimit?: number;
    tags?: string[];
  } & Record<string, unknown>;
  const checkpointId = options.resuming ? undefined : request.checkpoint_id;
  return {
    ...rest,
    ...(tags ? { tags } : {}),
    ...(recursion_limit ?? recursionLimit ? { recursionLimit: recursion_limit ?? recursionLimit } : {}),
    configurable: {
      ...withoutAuthKeys(configurable),
      thread_id: request.thread_id,
      run_id: runId,
      ...(checkpointId ? { checkpoint_id: checkpointId } : {}),
      // Where the LangGraph API server puts its caller: the owner an authenticating gateway set.
      ...(request.owner ? { langgraph_auth_user: { identity: request.owner }, langgraph_auth_user_id: request.owner } : {}),
    },
    metadata: { ...request.metadata, run_id: runId, thread_id: request.thread_id, graph_id: request.graph_id },
  };
}

/** The caller's configurable without the keys that name the authenticated user: only `owner` sets those. */
function withoutAuthKeys(configurable: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(configurable ?? {}).filter(([key]) => !key.startsWith("langgraph_auth_")));
}

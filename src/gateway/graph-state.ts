import type { RunnableConfig } from "@langchain/core/runnables";
import type { GraphRegistry, RunnableGraph } from "../graph/registry.js";
import type { RunStore, ThreadRecord } from "../ports.js";
import { HttpError } from "./http-error.js";
import { interruptsOf, toThreadState, type ApiThreadState, type ThreadValues } from "./shapes.js";
import { toJson } from "../graph/serialize.js";

type Snapshot = Parameters<typeof toThreadState>[0];

/** The parts of a compiled graph the gateway reads: state, history and drawing. It never streams one. */
interface ReadableGraph extends RunnableGraph {
  getState(config: RunnableConfig, options?: { subgraphs?: boolean }): Promise<Snapshot>;
  getStateHistory(config: RunnableConfig, options?: { limit?: number; before?: RunnableConfig; filter?: Record<string, unknown> }): AsyncIterable<Snapshot>;
  getGraphAsync?(config?: RunnableConfig, options?: { xray?: boolean | number }): Promise<{ toJSON(): unknown }>;
}

export interface HistoryQuery {
  limit: number;
  before?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  checkpointId?: string | undefined;
}

/**
 * Reads thread state through the served graphs, bound read-only to the workers' checkpointer, so
 * `next`, `tasks` and interrupts are computed as LangGraph computes them. A thread's graph is the
 * one its metadata names (`graph_id`, as the SDK sets it), else the one of its latest run, else
 * the only graph served. (A copy carries its original's graph id in its metadata.)
 */
export class GraphState {
  constructor(
    private readonly graphs: GraphRegistry,
    private readonly runs: Pick<RunStore, "listByThread">,
  ) {}

  async state(thread: ThreadRecord, checkpointId?: string, subgraphs = false): Promise<ApiThreadState> {
    const graph = await this.graphOf(thread);
    if (!graph) return emptyState(thread.thread_id);
    const snapshot = await graph.getState(configOf(thread.thread_id, checkpointId), { subgraphs });
    return toThreadState(snapshot);
  }

  async values(thread: ThreadRecord): Promise<ThreadValues> {
    const graph = await this.graphOf(thread);
    if (!graph) return { values: null, interrupts: {} };
    const snapshot = await graph.getState(configOf(thread.thread_id));
    return { values: toJson(snapshot.values ?? null), interrupts: interruptsOf(snapshot) };
  }

  async history(thread: ThreadRecord, query: HistoryQuery): Promise<ApiThreadState[]> {
    const graph = await this.graphOf(thread);
    if (!graph) return [];
    const states: ApiThreadState[] = [];
    const options = {
      limit: query.limit,
      ...(query.before ? { before: configOf(thread.thread_id, query.before) } : {}),
      ...(query.metadata ? { filter: query.metadata } : {}),
    };
    for await (const snapshot of graph.getStateHistory(configOf(thread.thread_id, query.checkpointId), options)) {
      states.push(toThreadState(snapshot));
    }
    return states;
  }

  /** The graph's drawing as the API's `AssistantGraph` (`{nodes, edges}`). */
  async drawing(graphId: string, xray: boolean | number): Promise<unknown> {
    const graph = (await this.graphs.resolve(graphId)) as ReadableGraph;
    if (typeof graph.getGraphAsync !== "function") throw new HttpError(422, `Graph '${graphId}' cannot be drawn.`, "invalid_request");
    return (await graph.getGraphAsync({}, { xray })).toJSON();
  }

  /** The thread's graph id (see the class comment); undefined when none can be told. */
  async graphIdOf(thread: ThreadRecord): Promise<string | undefined> {
    const named = typeof thread.metadata.graph_id === "string" ? thread.metadata.graph_id : undefined;
    let graphId = named !== undefined && this.graphs.has(named) ? named : undefined;
    graphId ??= (await this.runs.listByThread(thread.thread_id, { limit: 1 }))[0]?.graph_id;
    const ids = this.graphs.ids();
    if (graphId === undefined && ids.length === 1) graphId = ids[0];
    return graphId !== undefined && this.graphs.has(graphId) ? graphId : undefined;
  }

  private async graphOf(thread: ThreadRecord): Promise<ReadableGraph | undefined> {
    const graphId = await this.graphIdOf(thread);
    return graphId === undefined ? undefined : ((await this.graphs.resolve(graphId)) as ReadableGraph);
  }
}

function configOf(threadId: string, checkpointId?: string): RunnableConfig {
  return { configurable: { thread_id: threadId, checkpoint_ns: "", ...(checkpointId ? { checkpoint_id: checkpointId } : {}) } };
}

function emptyState(threadId: string): ApiThreadState {
  return {
    values: {},
    next: [],
    tasks: [],
    metadata: {},
    created_at: null,
    checkpoint: { thread_id: threadId, checkpoint_ns: "", checkpoint_id: null, checkpoint_map: null },
    parent_checkpoint: null,
  };
}

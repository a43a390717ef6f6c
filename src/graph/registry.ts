import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import { RunbusError } from "../errors.js";

/** The parts of a compiled LangGraph graph runbus drives. */
export interface RunnableGraph {
  stream(input: unknown, options?: Partial<RunnableConfig> & Record<string, unknown>): Promise<AsyncIterable<unknown>>;
  getState(config: RunnableConfig): Promise<GraphStateSnapshot>;
  checkpointer?: unknown;
}

export interface GraphStateSnapshot {
  values: unknown;
  next: readonly string[];
  tasks: ReadonlyArray<{ interrupts?: readonly unknown[] }>;
}

export interface GraphFactoryOptions {
  checkpointer?: BaseCheckpointSaver;
}

/** A graph is registered compiled, or as a factory that compiles it with runbus's checkpointer. */
export type GraphEntry = object | ((options: GraphFactoryOptions) => object | Promise<object>);

/**
 * Graphs by id, in the spirit of langgraph.json. Each graph is resolved once and bound to the
 * runtime's checkpointer.
 */
export class GraphRegistry {
  private readonly resolved = new Map<string, Promise<RunnableGraph>>();

  constructor(
    private readonly entries: Record<string, GraphEntry>,
    private readonly checkpointer?: BaseCheckpointSaver,
  ) {}

  /** The same graphs bound to another checkpointer (each resolved again, once). */
  withCheckpointer(checkpointer: BaseCheckpointSaver): GraphRegistry {
    return new GraphRegistry(this.entries, checkpointer);
  }

  ids(): string[] {
    return Object.keys(this.entries);
  }

  has(graphId: string): boolean {
    return Object.hasOwn(this.entries, graphId);
  }

  resolve(graphId: string): Promise<RunnableGraph> {
    let graph = this.resolved.get(graphId);
    if (!graph) {
      graph = this.load(graphId);
      this.resolved.set(graphId, graph);
      // A factory that failed may succeed later; don't cache the failure.
      graph.catch(() => this.resolved.delete(graphId));
    }
    return graph;
  }

  private async load(graphId: string): Promise<RunnableGraph> {
    const entry = this.entries[graphId];
    if (entry === undefined || !this.has(graphId)) {
      throw new RunbusError("unknown_graph", `Unknown graph_id '${graphId}'; known graphs: ${this.ids().join(", ") || "(none)"}.`);
    }
    const checkpointer = this.checkpointer;
    const built = typeof entry === "function" ? await entry(checkpointer ? { checkpointer } : {}) : entry;
    if (typeof (built as Partial<RunnableGraph>).stream !== "function" || typeof (built as Partial<RunnableGraph>).getState !== "function") {
      throw new RunbusError("unknown_graph", `Graph '${graphId}' is not a compiled LangGraph graph (no stream/getState).`);
    }
    const graph = built as RunnableGraph;
    if (checkpointer && !graph.checkpointer) graph.checkpointer = checkpointer;
    return graph;
  }
}

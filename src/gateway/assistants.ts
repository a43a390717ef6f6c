import { v5 as uuid5 } from "@langchain/core/utils/uuid";

/** The LangGraph API server's namespace for assistant ids, so a graph's assistant has the same id on both servers. */
const NAMESPACE_GRAPH = "6ba7b821-9dad-11d1-80b4-00c04fd430c8";

export function assistantIdOf(graphId: string): string {
  return uuid5(graphId, NAMESPACE_GRAPH);
}

export interface Assistant {
  assistant_id: string;
  graph_id: string;
  name: string;
  description: null;
  config: Record<string, unknown>;
  context: Record<string, unknown>;
  metadata: Record<string, unknown>;
  version: number;
  created_at: string;
  updated_at: string;
}

/**
 * One assistant per served graph. Its id is the graph id's v5 UUID; either is accepted wherever
 * the API takes an `assistant_id`.
 */
export class Assistants {
  private readonly byId = new Map<string, Assistant>();

  constructor(graphIds: readonly string[], startedAt: Date = new Date()) {
    for (const graphId of graphIds) {
      const assistant: Assistant = {
        assistant_id: assistantIdOf(graphId),
        graph_id: graphId,
        name: graphId,
        description: null,
        config: {},
        context: {},
        metadata: { created_by: "system" },
        version: 1,
        created_at: startedAt.toISOString(),
        updated_at: startedAt.toISOString(),
      };
      this.byId.set(assistant.assistant_id, assistant);
      this.byId.set(graphId, assistant);
    }
  }

  /** The assistant named by its id or its graph id. */
  find(id: string): Assistant | undefined {
    return this.byId.get(id);
  }

  all(): Assistant[] {
    return [...new Set(this.byId.values())];
  }
}

import { createHash } from "node:crypto";

/** The LangGraph API server's namespace for assistant ids, so a graph's assistant has the same id on both servers. */
const NAMESPACE_GRAPH = "6ba7b821-9dad-11d1-80b4-00c04fd430c8";

/** An RFC 4122 version-5 UUID (SHA-1, name-based) of `name` in `namespace`. */
export function uuid5(name: string, namespace: string): string {
  const bytes = createHash("sha1")
    .update(Buffer.from(namespace.replaceAll("-", ""), "hex"))
    .update(name, "utf8")
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

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

import { toJson, type JsonValue } from "./serialize.js";

/** One runbus run event (DESIGN §4.2): its name goes in the record header, its data is the record value. */
export interface MappedChunk {
  name: string;
  data: JsonValue;
}

/**
 * The event name: the mode ("messages-tuple" arrives as "messages"), or "mode|ns1|ns2" for a subgraph chunk
 * where each ns is LangGraph's "node:task_id".
 */
export function eventName(mode: string, namespace: readonly string[]): string {
  const name = mode === "messages-tuple" ? "messages" : mode;
  return namespace.length === 0 ? name : `${name}|${namespace.join("|")}`;
}

/**
 * Maps one raw item yielded by `graph.stream(input, { streamMode: [...modes], subgraphs })` to a runbus event.
 * With an array of modes LangGraph yields `[mode, chunk]`, or `[namespace, mode, chunk]` when `subgraphs` is true.
 */
export function mapStreamChunk(raw: unknown, subgraphs: boolean): MappedChunk {
  const { namespace, mode, chunk } = subgraphs ? splitNamespaced(raw) : splitFlat(raw);
  return { name: eventName(mode, namespace), data: dataOf(mode, chunk) };
}

interface RawItem {
  namespace: readonly string[];
  mode: string;
  chunk: unknown;
}

function splitFlat(raw: unknown): RawItem {
  if (!Array.isArray(raw) || raw.length !== 2 || typeof raw[0] !== "string") {
    throw new Error(`Expected a LangGraph stream item [mode, chunk] (subgraphs off), got ${describe(raw)}.`);
  }
  return { namespace: [], mode: raw[0], chunk: raw[1] };
}

function splitNamespaced(raw: unknown): RawItem {
  if (!Array.isArray(raw) || raw.length !== 3 || !isStringArray(raw[0]) || typeof raw[1] !== "string") {
    throw new Error(`Expected a LangGraph stream item [namespace, mode, chunk] (subgraphs on), got ${describe(raw)}.`);
  }
  return { namespace: raw[0], mode: raw[1], chunk: raw[2] };
}

function dataOf(mode: string, chunk: unknown): JsonValue {
  switch (mode) {
    case "messages":
      if (!Array.isArray(chunk) || chunk.length !== 2) {
        throw new Error(`Expected a LangGraph "messages" chunk [message, metadata], got ${describe(chunk)}.`);
      }
      return [toJson(chunk[0]), toJson(chunk[1])];
    case "checkpoints":
      return toJson(withPublicConfigs(chunk));
    case "debug":
      return toJson(isRecord(chunk) && chunk.type === "checkpoint" ? { ...chunk, payload: withPublicConfigs(chunk.payload) } : chunk);
    default:
      return toJson(chunk);
  }
}

/**
 * A subgraph's checkpoint event carries its live runtime config: the checkpointer (a database client),
 * abort signals, the internal stream, callbacks. Only the plain keys are the run's data; the rest must
 * never reach a topic.
 */
function withPublicConfigs(checkpoint: unknown): unknown {
  if (!isRecord(checkpoint)) return checkpoint;
  return { ...checkpoint, config: publicConfig(checkpoint.config), parentConfig: publicConfig(checkpoint.parentConfig) };
}

function publicConfig(config: unknown): unknown {
  if (!isRecord(config)) return config;
  const { callbacks: _callbacks, configurable, ...rest } = config;
  if (!isRecord(configurable)) return rest;
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(configurable)) {
    if (!key.startsWith("__pregel_")) kept[key] = value;
  }
  return { ...rest, configurable: kept };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return value === null ? "null" : typeof value;
}

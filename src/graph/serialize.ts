import { BaseMessage } from "@langchain/core/messages";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

const CIRCULAR = "[Circular]";

/**
 * Converts any stream chunk to plain JSON in one walk (no stringify/parse round trip: it runs for every chunk).
 * LangChain messages become `{type, ...fields}` as the LangGraph API server sends them; Error → {name, message};
 * Date → ISO string; Map → object; Set → array; BigInt → string; objects with toJSON (Command, Send) use it.
 * undefined, functions and symbols are dropped from objects and become null in arrays, as in JSON.stringify.
 * A reference back to an enclosing object becomes "[Circular]"; an object shared without a cycle is written twice.
 */
export function toJson(value: unknown): JsonValue {
  return convert(value, new Set()) ?? null;
}

/** `undefined` means "no JSON value": the caller drops the key, or writes null into an array slot. */
function convert(value: unknown, ancestors: Set<object>): JsonValue | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      // JSON has no NaN or Infinity (JSON.stringify writes null) and no -0 (it writes 0).
      return Number.isFinite(value) ? value || 0 : null;
    case "bigint":
      return value.toString();
    case "object":
      return value === null ? null : convertOnce(value, ancestors);
    default:
      return undefined;
  }
}

function convertOnce(value: object, ancestors: Set<object>): JsonValue | undefined {
  if (ancestors.has(value)) return CIRCULAR;
  ancestors.add(value);
  const json = convertObject(value, ancestors);
  // Leaving the object: a later sibling may share it without forming a cycle.
  ancestors.delete(value);
  return json;
}

function convertObject(value: object, ancestors: Set<object>): JsonValue | undefined {
  if (Array.isArray(value)) return convertArray(value, ancestors);
  // Before toJSON: a message's own toJSON is LangChain's constructor envelope, not what clients read.
  if (BaseMessage.isInstance(value)) return convertMessage(value, ancestors);
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Map) return convertMap(value, ancestors);
  if (value instanceof Set) return convertArray([...value], ancestors);
  const replaced = callToJson(value);
  if (replaced !== value) return convert(replaced, ancestors);
  return convertFields(value, ancestors);
}

/** The value's toJSON() result, or the value itself when it has none or it throws (a chunk must never fail). */
function callToJson(value: object): unknown {
  const toJSON: unknown = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON !== "function") return value;
  try {
    return toJSON.call(value);
  } catch {
    return value;
  }
}

function convertArray(values: readonly unknown[], ancestors: Set<object>): JsonValue[] {
  const out = new Array<JsonValue>(values.length);
  // An index loop, not map(): holes in sparse arrays become null too.
  for (let i = 0; i < values.length; i++) out[i] = convert(values[i], ancestors) ?? null;
  return out;
}

function convertMap(map: ReadonlyMap<unknown, unknown>, ancestors: Set<object>): JsonObject {
  const out: JsonObject = {};
  for (const [key, entry] of map) {
    setField(out, String(key), convert(entry, ancestors));
  }
  return out;
}

/**
 * Own enumerable fields, not message.toDict(): toDict reads the constructor's kwargs, so it misses fields assigned
 * later, and escapes values for LangChain's loader. The fields hold the current values under the same names.
 */
function convertMessage(message: BaseMessage, ancestors: Set<object>): JsonObject {
  const out: JsonObject = { type: message.type };
  const fields = message as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    // lc_* are LangChain's serialization bookkeeping (kwargs, namespace), not message data.
    if (key === "type" || key.startsWith("lc_")) continue;
    setField(out, key, convert(fields[key], ancestors));
  }
  return out;
}

function convertFields(value: object, ancestors: Set<object>): JsonObject {
  const out: JsonObject = {};
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) setField(out, key, convert(fields[key], ancestors));
  return out;
}

function setField(out: JsonObject, key: string, json: JsonValue | undefined): void {
  if (json === undefined) return;
  // Assigning "__proto__" would replace the prototype instead of adding the key a parsed JSON chunk can carry.
  if (key === "__proto__") Object.defineProperty(out, key, { value: json, enumerable: true, writable: true, configurable: true });
  else out[key] = json;
}

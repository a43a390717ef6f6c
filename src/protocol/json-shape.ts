/**
 * Limits on the shape of JSON from the wire that a schema cannot state: how deep it nests (a
 * MongoDB document nests at most 100 levels, and recursive code — serializers, deep copies —
 * overflows the stack long before 10,000), and no `__proto__` key (assigned rather than defined,
 * it replaces an object's prototype; zod drops it from records without a word).
 */

/** Containers (objects and arrays) nested deeper than this are refused. */
export const MAX_JSON_DEPTH = 64;

export interface JsonShapeIssue {
  code: "json_too_deep" | "invalid_command";
  message: string;
}

/**
 * The first shape limit a parsed JSON value breaks, or null. Walks the value without recursion,
 * so any depth JSON.parse builds is measured, not overflowed.
 */
export function jsonShapeIssue(value: unknown, what: string, maxDepth = MAX_JSON_DEPTH): JsonShapeIssue | null {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 1, path: "" }];
  // An object given in-process (not parsed) can be shared or cyclic: each is walked once.
  const seen = new Set<object>();
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (item.value === null || typeof item.value !== "object" || seen.has(item.value)) continue;
    seen.add(item.value);
    if (item.depth > maxDepth) return { code: "json_too_deep", message: `${what} nests deeper than ${maxDepth} levels (at ${item.path || "(root)"}).` };
    if (Array.isArray(item.value)) {
      item.value.forEach((entry, index) => {
        if (entry !== null && typeof entry === "object") stack.push({ value: entry, depth: item.depth + 1, path: join(item.path, String(index)) });
      });
      continue;
    }
    for (const key of Object.keys(item.value)) {
      const path = join(item.path, key);
      if (key === "__proto__") return { code: "invalid_command", message: `${what} has a "__proto__" key (at ${path}); runbus refuses it.` };
      const entry = (item.value as Record<string, unknown>)[key];
      if (entry !== null && typeof entry === "object") stack.push({ value: entry, depth: item.depth + 1, path });
    }
  }
  return null;
}

/** Paths stay short in messages: a hostile key can be megabytes long. */
function join(path: string, key: string): string {
  const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  const joined = path ? `${path}.${shown}` : shown;
  return joined.length > 200 ? `…${joined.slice(-200)}` : joined;
}

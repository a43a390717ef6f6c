import { createHash } from "node:crypto";

/**
 * Exact metadata matching, the same on MongoDB as in the memory store.
 *
 * A dot-notation filter (`metadata.k: v`) is not the memory store's `isDeepStrictEqual`: MongoDB
 * matches an array that merely contains `v`, let `null` match a missing key, and compare embedded
 * documents in key order. So each thread stores one fingerprint per top-level metadata entry, a hash
 * of the canonical JSON of `[key, value]` with object keys sorted, and a filter becomes
 * `metadata_index: {$all: [fingerprints]}`: a plain array match.
 */
export function metadataIndex(metadata: Record<string, unknown>): string[] {
  return Object.entries(metadata)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => fingerprint(key, value));
}

/** The fingerprints a thread's `metadata_index` must all contain to match `filter`; empty matches every thread. */
export function metadataFilter(filter: Record<string, unknown> | undefined): string[] {
  return filter ? metadataIndex(filter) : [];
}

function fingerprint(key: string, value: unknown): string {
  return createHash("sha256").update(canonicalJson([key, value])).digest("base64url");
}

/** JSON with sorted object keys; values JSON lacks get tagged forms so they cannot collide with JSON ones. */
function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : JSON.stringify({ $number: String(value) });
    case "bigint":
      return JSON.stringify({ $bigint: value.toString() });
    case "object":
      if (value === null) return "null";
      if (value instanceof Date) return JSON.stringify({ $date: value.getTime() });
      if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`;
      return `{${Object.keys(value)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
        .join(",")}}`;
    default:
      // undefined, functions and symbols are not stored (BSON drops them), so they match as null.
      return "null";
  }
}

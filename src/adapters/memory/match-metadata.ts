import { isDeepStrictEqual } from "node:util";

/** True when every key of `filter` is in `metadata` with a deeply equal value (MongoDB's exact match). */
export function matchesMetadata(metadata: Record<string, unknown>, filter: Record<string, unknown> | undefined): boolean {
  if (!filter) return true;
  return Object.entries(filter).every(([key, value]) => isDeepStrictEqual(metadata[key], value));
}

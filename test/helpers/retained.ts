/**
 * Finds what a long-lived object keeps that could grow with the work it has done: every Map, Set
 * and array reachable from it through object properties, with its size. Stores are meant to grow;
 * pass them in `skip`. Closures' captured variables are out of sight (JavaScript offers no way in).
 */
export interface RetainedCollection {
  path: string;
  size: number;
}

const OPAQUE = new Set(["Timeout", "Immediate", "Socket", "Server", "TLSSocket", "Buffer"]);

export function collectionsReachableFrom(root: object, skip: Iterable<unknown> = []): RetainedCollection[] {
  const skipped = new Set<unknown>(skip);
  const seen = new WeakSet<object>();
  const found: RetainedCollection[] = [];
  const stack: Array<[unknown, string]> = [[root, "root"]];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if ((typeof value !== "object" && typeof value !== "function") || value === null) continue;
    if (skipped.has(value) || seen.has(value) || OPAQUE.has(value.constructor?.name ?? "") || ArrayBuffer.isView(value)) continue;
    seen.add(value);
    if (value instanceof Map) {
      found.push({ path, size: value.size });
      for (const [key, entry] of value) stack.push([key, `${path}{key}`], [entry, `${path}{${String(key)}}`]);
      continue;
    }
    if (value instanceof Set) {
      found.push({ path, size: value.size });
      for (const entry of value) stack.push([entry, `${path}{}`]);
      continue;
    }
    if (Array.isArray(value)) {
      found.push({ path, size: value.length });
      value.forEach((entry, i) => stack.push([entry, `${path}[${i}]`]));
      continue;
    }
    for (const key of Reflect.ownKeys(value)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      // Data properties only: a getter could compute something, or throw.
      if (descriptor && "value" in descriptor) stack.push([descriptor.value, `${path}.${String(key)}`]);
    }
  }
  return found;
}

/** The collections reachable from `root` (see collectionsReachableFrom) holding at least `limit` entries. */
export function largeCollections(root: object, limit: number, skip: Iterable<unknown> = []): string[] {
  return collectionsReachableFrom(root, skip)
    .filter((collection) => collection.size >= limit)
    .map((collection) => `${collection.path} (${collection.size})`);
}

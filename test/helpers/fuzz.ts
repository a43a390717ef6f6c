import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * A seeded, deterministic source of hostile input for the fuzz tests: the same seed gives the same
 * records and requests on every machine. The seed is RUNBUS_FUZZ_SEED when set, else a fixed one;
 * the tests print it, so a failure found with a random seed can be replayed.
 */

/** The heap in use after two full collections (gc exposed at runtime): for "memory stays flat" checks. */
export function heapAfterGc(): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

export const DEFAULT_FUZZ_SEED = 0x5eed_2026;

export function fuzzSeed(): number {
  const fromEnv = process.env.RUNBUS_FUZZ_SEED;
  if (fromEnv === undefined || fromEnv === "") return DEFAULT_FUZZ_SEED;
  const seed = Number(fromEnv);
  if (!Number.isInteger(seed)) throw new Error(`RUNBUS_FUZZ_SEED must be an integer, not ${JSON.stringify(fromEnv)}.`);
  return seed >>> 0;
}

/** mulberry32: small, fast, and good enough to pick test cases. */
export class Fuzz {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, max). */
  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[this.int(items.length)]!;
  }

  /** Picks by weight: `[[weight, item], …]`. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T {
    const total = items.reduce((sum, [weight]) => sum + weight, 0);
    let at = this.next() * total;
    for (const [weight, item] of items) {
      at -= weight;
      if (at < 0) return item;
    }
    return items[items.length - 1]![1];
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }

  /** Printable ASCII that never starts a JSON value (a letter outside true/false/null's first letters). */
  text(length: number): string {
    let out = this.pick(["x", "q", "k", "z", "<", "#"]);
    while (out.length < length) out += String.fromCharCode(this.between(0x20, 0x7e));
    return out;
  }
}

/** Ids that break ^[A-Za-z0-9._-]{1,128}$: paths, topic metacharacters, control characters, unicode, length. */
export function hostileIds(f: Fuzz): string[] {
  return [
    "../etc/passwd",
    "..%2f..%2fetc",
    "a/b",
    "/",
    "%2e%2e",
    "%2F",
    "a\u0000b",
    "\u0000",
    "my thread",
    " ",
    "",
    "*",
    "a*b",
    "a,b",
    "a:b",
    "a#b",
    "a?b",
    "a+b",
    "a\\b",
    "a\"b",
    "a'b",
    "a\tb",
    "a\nb",
    "$where",
    "{}",
    "a".repeat(129),
    "b".repeat(10_000),
    "runbus.commands dlq",
    "\u202eevil\u202c",
    "a\u200bb",
    "\u200d",
    "\ufeffbom",
    "🙂",
    "emoji-🚀-id",
    "\ud800",
    "lone\udfff",
    "ünïcödé",
    "ａｂｃ",
    "a\u0085b",
    "a\u2028b",
    `x${f.text(20)}/`,
    `${"c".repeat(f.between(129, 300))}`,
  ];
}

/** Unicode edge cases as string values (valid JSON strings; most are not valid ids). */
export const UNICODE_STRINGS: readonly string[] = [
  "\ud800",
  "\udfff",
  "\ud83d",
  "\u202eRTL override\u202c",
  "\u200b\u200c\u200d\u2060",
  "\ufeff",
  "🙂👩‍👩‍👧‍👦🏳️‍🌈",
  "e\u0301\u0301\u0301\u0301",
  "\u0000\u0001\u001f",
  "\uffff\ufffe",
  "𝕏𝕐ℤ",
  "\u2028\u2029",
];

/** JSON values of every type, for "wrong type" cases. Each is tested against a field's validity. */
export const ANY_VALUES: readonly unknown[] = [
  0,
  -1,
  1.5,
  42,
  2 ** 53 + 2,
  -0,
  1e308,
  true,
  false,
  null,
  "",
  "a string",
  "*",
  "../x",
  [],
  [1, 2],
  ["a"],
  [null],
  [["a", 1]],
  {},
  { a: 1 },
  { $ne: null },
  "run.create",
];

/** Nested arrays or objects `depth` levels deep, written as text (no recursion anywhere). */
export function deepJson(depth: number, kind: "array" | "object" | "mixed"): string {
  if (kind === "array") return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
  if (kind === "object") return `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
  let open = "";
  let close = "";
  for (let i = 0; i < depth; i++) {
    if (i % 2 === 0) {
      open += '{"k":';
      close = `}${close}`;
    } else {
      open += "[";
      close = `]${close}`;
    }
  }
  return `${open}1${close}`;
}

export const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype"] as const;

/**
 * JSON text of an object whose `__proto__` (own key, as JSON.parse makes it) sits `depth` levels
 * down a chain of `constructor` / `prototype` / plain keys, carrying a marker that must never show
 * up on Object.prototype.
 */
export function protoChain(f: Fuzz, depth: number, marker: string): string {
  let open = "";
  let close = "";
  for (let i = 0; i < depth; i++) {
    open += `{"${f.pick(["constructor", "prototype", "a", "__proto__x"])}":`;
    close += "}";
  }
  return `${open}{"__proto__":{"${marker}":true,"toString":"pwned"}}${close}`;
}

/**
 * Bad input at the HTTP edge: 10,000 seeded hostile requests to a real gateway (on a real worker,
 * Kafka and MongoDB) across the threads, runs and assistants routes — bad JSON, invalid UTF-8,
 * wrong types for every field, hostile ids in path segments, oversized bodies (with and without
 * a Content-Length), deep nesting, prototype-pollution keys, hostile query strings and headers.
 * Every answer is a 4xx, none hangs; the gateway serves a valid request afterwards, no prototype
 * is polluted and the heap stays flat.
 *
 * Replay with RUNBUS_FUZZ_SEED=<seed printed in the summary>.
 */
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANY_VALUES, Fuzz, UNICODE_STRINGS, deepJson, fuzzSeed, heapAfterGc, hostileIds, protoChain } from "../../helpers/fuzz.js";
import { startGatewayStack, type GatewayStack } from "../../helpers/gateway.js";
import { testGraphs } from "../../fixtures/graphs.js";

const COUNT = 10_000;
const CONCURRENCY = 16;
const MAX_BODY_BYTES = 64 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;
const SEED = fuzzSeed();
const MARKER = `fuzzPolluted${SEED}`;
const REAL_THREAD = "gz-real";

interface HostileRequest {
  kind: string;
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Sent in 16 KiB chunks without a Content-Length. */
  chunked?: boolean;
  /**
   * The server answers before reading the whole request (413, 431) and closes the connection:
   * such a request gets a connection of its own, as a separate client would, instead of one
   * that a pooled request could be reusing at that moment.
   */
  ownConnection?: boolean;
}

// --- what each body field accepts (src/gateway/schemas.ts); `nullable` fields also take null ---

type Valid = (value: unknown) => boolean;
const nullable = (valid: Valid): Valid => (v) => v === null || valid(v);
const isId: Valid = (v) => typeof v === "string" && /^[A-Za-z0-9._-]{1,128}$/.test(v);
const isString = (min = 0, max = Infinity): Valid => (v) => typeof v === "string" && v.length >= min && v.length <= max;
const isObject: Valid = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isBoolean: Valid = (v) => typeof v === "boolean";
const isOneOf = (...values: unknown[]): Valid => (v) => values.includes(v);
const isStrings = (max = Infinity): Valid => (v) => Array.isArray(v) && v.length <= max && v.every((s) => typeof s === "string");
const isIds = (max: number): Valid => (v) => Array.isArray(v) && v.length <= max && v.every(isId);
const isInt = (min: number, max = Number.MAX_SAFE_INTEGER): Valid => (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
const isNumberIn = (min: number, max: number): Valid => (v) => typeof v === "number" && v >= min && v <= max;
const isNodes: Valid = (v) => v === "*" || isStrings()(v);
/** A string is a stream mode (an unknown one is refused by the worker, also a 4xx); so are lists of them. */
const isStreamMode: Valid = (v) => typeof v === "string" || isStrings(16)(v);
const isCheckpoint: Valid = (v) => isObject(v) && (!("checkpoint_id" in (v as object)) || nullable(isString())((v as { checkpoint_id: unknown }).checkpoint_id));
const isCommand: Valid = (v) => isObject(v) && Object.keys(v as object).every((k) => ["resume", "goto", "update"].includes(k));
const onlyNull: Valid = (v) => v === null;

const RUN_FIELDS: Record<string, Valid> = {
  assistant_id: isString(1, 256),
  command: nullable(isCommand),
  config: nullable(isObject),
  context: nullable(isObject),
  metadata: nullable(isObject),
  stream_mode: nullable(isStreamMode),
  stream_subgraphs: nullable(isBoolean),
  stream_resumable: nullable(isBoolean),
  interrupt_before: nullable(isNodes),
  interrupt_after: nullable(isNodes),
  checkpoint: nullable(isCheckpoint),
  checkpoint_id: nullable(isString(1, 128)),
  multitask_strategy: nullable(isOneOf("reject", "interrupt", "rollback", "enqueue")),
  if_not_exists: nullable(isOneOf("create", "reject")),
  after_seconds: nullable(isNumberIn(0, 7 * 24 * 3600)),
  on_disconnect: nullable(isOneOf("cancel", "continue")),
  on_completion: nullable(isOneOf("delete", "keep")),
  // "exit" and checkpoint_during: false are refused (422): not valid here.
  durability: nullable(isOneOf("sync", "async")),
  checkpoint_during: nullable(isOneOf(true)),
  webhook: onlyNull,
  feedback_keys: onlyNull,
  strict_resume: nullable(isBoolean),
};

/** Routes with a JSON body: a base body (valid, or harmless), and what each field accepts. */
const BODY_ROUTES: Array<{ method: string; path: (real: { runId: string }) => string; base: Record<string, unknown>; fields: Record<string, Valid> }> = [
  ...["/threads/{t}/runs", "/threads/{t}/runs/wait", "/threads/{t}/runs/stream", "/runs", "/runs/wait", "/runs/stream"].map((template) => ({
    method: "POST",
    path: () => template.replace("{t}", REAL_THREAD),
    base: { assistant_id: "echo", input: { messages: [{ role: "user", content: "fuzz" }] } },
    fields: RUN_FIELDS,
  })),
  {
    method: "POST",
    path: () => "/threads",
    base: {},
    fields: {
      thread_id: nullable(isId),
      metadata: nullable(isObject),
      if_exists: nullable(isOneOf("raise", "do_nothing")),
      supersteps: nullable((v) => Array.isArray(v) && v.length === 0),
      ttl: onlyNull,
    },
  },
  {
    method: "POST",
    path: () => "/threads/search",
    base: {},
    fields: {
      metadata: nullable(isObject),
      ids: nullable(isStrings(1000)),
      status: nullable(isOneOf("idle", "busy", "interrupted", "error")),
      values: onlyNull,
      limit: nullable(isInt(1, 1000)),
      offset: nullable(isInt(0)),
      sort_by: nullable(isOneOf("thread_id", "status", "created_at", "updated_at", "state_updated_at")),
      sort_order: nullable(isOneOf("asc", "desc")),
      select: nullable(isStrings()),
    },
  },
  { method: "POST", path: () => "/threads/count", base: {}, fields: { metadata: nullable(isObject), status: nullable(isOneOf("idle", "busy", "interrupted", "error")), values: onlyNull } },
  { method: "PATCH", path: () => `/threads/${REAL_THREAD}`, base: { metadata: {} }, fields: { metadata: isObject } },
  {
    method: "POST",
    path: () => `/threads/${REAL_THREAD}/state`,
    base: { values: {} },
    fields: { as_node: nullable(isString(1, 256)), checkpoint_id: nullable(isString(1, 128)), checkpoint: nullable(isCheckpoint) },
  },
  { method: "POST", path: () => `/threads/${REAL_THREAD}/state/checkpoint`, base: {}, fields: { checkpoint: nullable(isCheckpoint), subgraphs: nullable(isBoolean) } },
  {
    method: "POST",
    path: () => `/threads/${REAL_THREAD}/history`,
    base: {},
    fields: {
      limit: nullable(isInt(1, 1000)),
      before: nullable((v) => typeof v === "string" || isObject(v)),
      metadata: nullable(isObject),
      checkpoint: nullable((v) => isObject(v) && ["checkpoint_id", "checkpoint_ns"].every((k) => !(k in (v as object)) || nullable(isString())((v as Record<string, unknown>)[k]))),
      select: nullable(isStrings()),
    },
  },
  ...["/assistants/search", "/assistants/count"].map((path) => ({
    method: "POST",
    path: () => path,
    base: {},
    fields: {
      graph_id: nullable(isString()),
      name: nullable(isString()),
      metadata: nullable(isObject),
      limit: nullable(isInt(1, 1000)),
      offset: nullable(isInt(0)),
      select: nullable(isStrings()),
    },
  })),
  // An empty cancel is refused (give run_ids or a thread_id); with run_ids of runs that do not exist it is a no-op 204.
  { method: "POST", path: () => "/runs/cancel", base: { run_ids: ["no-such-run"], thread_id: "no-such-thread" }, fields: { thread_id: nullable(isId), run_ids: nullable(isIds(1000)), status: nullable(isOneOf("pending", "running", "all")) } },
];

/** Routes with a thread id in their path (and what else they need), for hostile ids. */
const THREAD_PATHS: Array<[string, string]> = [
  ["GET", "/threads/{t}"],
  ["PATCH", "/threads/{t}"],
  ["DELETE", "/threads/{t}"],
  ["GET", "/threads/{t}/state"],
  ["GET", "/threads/{t}/state/some-checkpoint"],
  ["POST", "/threads/{t}/state"],
  ["POST", "/threads/{t}/state/checkpoint"],
  ["POST", "/threads/{t}/copy"],
  ["GET", "/threads/{t}/history"],
  ["POST", "/threads/{t}/history"],
  ["POST", "/threads/{t}/runs"],
  ["POST", "/threads/{t}/runs/wait"],
  ["POST", "/threads/{t}/runs/stream"],
  ["GET", "/threads/{t}/runs"],
  ["GET", "/threads/{t}/runs/some-run"],
  ["DELETE", "/threads/{t}/runs/some-run"],
  ["GET", "/threads/{t}/runs/some-run/join"],
  ["GET", "/threads/{t}/runs/some-run/stream"],
  ["POST", "/threads/{t}/runs/some-run/cancel"],
];

/** Routes with a run or assistant id in their path: a hostile one is not found. */
const OTHER_ID_PATHS: Array<[string, string]> = [
  ["GET", `/threads/${REAL_THREAD}/runs/{id}`],
  ["DELETE", `/threads/${REAL_THREAD}/runs/{id}`],
  ["GET", `/threads/${REAL_THREAD}/runs/{id}/join`],
  ["GET", `/threads/${REAL_THREAD}/runs/{id}/stream`],
  ["POST", `/threads/${REAL_THREAD}/runs/{id}/cancel`],
  ["GET", "/runs/{id}/stream"],
  ["GET", "/assistants/{id}"],
  ["GET", "/assistants/{id}/graph"],
  ["GET", "/assistants/{id}/schemas"],
  ["GET", "/assistants/{id}/subgraphs"],
];

/** Percent-encodes every byte of the id's UTF-8 but the unreserved ones (a lone surrogate becomes U+FFFD's bytes). */
function encodeSegment(id: string): string {
  return [...Buffer.from(id, "utf8")].map((byte) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(byte)) && byte < 0x80 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`)).join("");
}

const NOT_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]];

/** The i-th request of the seeded sequence, with the category it was drawn from. */
function hostileRequest(f: Fuzz, i: number, real: { runId: string }): HostileRequest & { category: string } {
  const category = f.weighted<string>([
    [20, "wrong type"],
    [12, "hostile thread id"],
    [6, "hostile run or assistant id"],
    [4, "missing thread"],
    [8, "bad JSON"],
    [4, "invalid UTF-8"],
    [6, "deep JSON"],
    [6, "__proto__"],
    [3, "oversized body"],
    [6, "hostile query"],
    [3, "unknown route"],
    [3, "hostile headers"],
    [3, "duplicate keys"],
  ]);
  return { ...requestOf(category, f, i, real), category };
}

function requestOf(category: string, f: Fuzz, i: number, real: { runId: string }): HostileRequest {
  switch (category) {
    case "wrong type": {
      const route = f.pick(BODY_ROUTES);
      const field = f.pick(Object.keys(route.fields));
      const wrong = [...ANY_VALUES, ...UNICODE_STRINGS].filter((v) => !route.fields[field]!(v));
      return { kind: `${route.method} ${route.path(real)} ${field}`, method: route.method, path: route.path(real), body: JSON.stringify({ ...route.base, [field]: f.pick(wrong) }) };
    }
    case "hostile thread id": {
      const [method, template] = f.pick(THREAD_PATHS);
      const id = f.chance(0.2) ? f.pick(UNICODE_STRINGS) : f.pick(hostileIds(f));
      const encoded = f.pick([encodeSegment(id), encodeSegment(encodeSegment(id)), encodeSegment(id).replaceAll("%2F", "%2f")]);
      const body = method === "GET" || method === "DELETE" ? undefined : JSON.stringify({ assistant_id: "echo", metadata: {}, values: {} });
      return { kind: `${method} ${template} with a hostile thread id`, method, path: template.replace("{t}", encoded), ...(body ? { body } : {}) };
    }
    case "hostile run or assistant id": {
      const [method, template] = f.pick(OTHER_ID_PATHS);
      const id = f.chance(0.2) ? f.pick(UNICODE_STRINGS) : f.pick(hostileIds(f));
      // An empty id would name another route; a run id must differ from the real one.
      const encoded = encodeSegment(id === "" ? "%" : id);
      return { kind: `${method} ${template} with a hostile id`, method, path: template.replace("{id}", encoded) };
    }
    case "missing thread": {
      // Valid ids of threads that do not exist: a 404, also for writes that go through a worker.
      const [method, template] = f.pick(THREAD_PATHS.filter(([m, p]) => !(m === "POST" && p === "/threads/{t}/copy")));
      const body = method === "GET" || method === "DELETE" ? undefined : JSON.stringify({ assistant_id: "echo", metadata: { k: i }, values: {} });
      return { kind: `${method} ${template} of a missing thread`, method, path: template.replace("{t}", `gz-missing-${i}`), ...(body ? { body } : {}) };
    }
    case "bad JSON": {
      const route = f.pick(BODY_ROUTES);
      const body = f.pick([
        "{",
        '{"assistant_id":',
        "[1,2",
        "nul",
        "{'single': 'quotes'}",
        '{"a":1,}',
        "NaN",
        "undefined",
        "\u0000",
        '{"a":"\u0001"}',
        f.text(f.between(1, 3000)),
        "1e400",
        '"just a string"',
        "[]",
        "42",
        "true",
        "null",
      ]);
      return { kind: `${route.method} ${route.path(real)} bad JSON`, method: route.method, path: route.path(real), body, headers: { "content-type": "application/json" } };
    }
    case "invalid UTF-8": {
      const route = f.pick(BODY_ROUTES);
      const body = Buffer.concat([Buffer.from('{"metadata":{"k":"a'), Buffer.from(f.pick(NOT_UTF8)), Buffer.from('b"},"thread_id":"gz-utf8"}')]);
      return { kind: `${route.method} ${route.path(real)} invalid UTF-8`, method: route.method, path: route.path(real), body };
    }
    case "deep JSON": {
      const route = f.pick(BODY_ROUTES);
      const depth = f.pick([65, 100, 1000, 5000, 10_000]);
      const nested = deepJson(depth, f.pick(["array", "object", "mixed"] as const));
      const body = f.chance(0.3) ? nested : `{"assistant_id":"echo","${f.pick(["input", "metadata", "config", "values", "checkpoint", "command"])}":${nested}}`;
      return { kind: `${route.method} ${route.path(real)} deep JSON`, method: route.method, path: route.path(real), body };
    }
    case "__proto__": {
      const route = f.pick(BODY_ROUTES);
      const chain = protoChain(f, f.int(6), MARKER);
      const body = f.chance(0.3)
        ? `{"assistant_id":"echo","__proto__":{"${MARKER}":true}}`
        : `{"assistant_id":"echo","${f.pick(["input", "metadata", "config", "context", "values", "checkpoint"])}":${chain}}`;
      return { kind: `${route.method} ${route.path(real)} __proto__`, method: route.method, path: route.path(real), body };
    }
    case "oversized body": {
      const route = f.pick(BODY_ROUTES);
      const size = MAX_BODY_BYTES + 1 + f.int(256 * 1024);
      const json = `{"assistant_id":"echo","metadata":{"pad":"${"p".repeat(size)}"}}`;
      // Without a Content-Length the body arrives chunked, and the limit applies while it is read.
      const chunked = f.chance(0.5);
      return { kind: `${route.method} ${route.path(real)} oversized${chunked ? ", chunked" : ""}`, method: route.method, path: route.path(real), body: json, chunked, ownConnection: true };
    }
    case "hostile query": {
      const bad = f.pick(["abc", "-1", "1.5", "1e300", "99999999999999999999", "NaN", "Infinity", "%00", "1;DROP", "[]", "{}"]);
      return f.pick<HostileRequest>([
        { kind: "history limit", method: "GET", path: `/threads/${REAL_THREAD}/history?limit=${encodeURIComponent(bad)}` },
        { kind: "runs limit", method: "GET", path: `/threads/${REAL_THREAD}/runs?limit=${encodeURIComponent(bad)}` },
        { kind: "runs offset", method: "GET", path: `/threads/${REAL_THREAD}/runs?offset=${encodeURIComponent(bad)}` },
        { kind: "runs status", method: "GET", path: `/threads/${REAL_THREAD}/runs?status=${encodeURIComponent(f.pick(["bogus", "SUCCESS", "$ne", "running ", bad]))}` },
        { kind: "graph xray", method: "GET", path: `/assistants/echo/graph?xray=${encodeURIComponent(f.pick(["abc", "1.5", "NaN", "yes", "1e400"]))}` },
        { kind: "join Last-Event-ID", method: "GET", path: `/threads/${REAL_THREAD}/runs/${real.runId}/stream`, headers: { "Last-Event-ID": f.pick(["abc", "1.5", "-2", "1e400", "NaN"]) } },
        { kind: "join last_event_id", method: "GET", path: `/runs/${real.runId}/stream?last_event_id=${encodeURIComponent(f.pick(["abc", "-5", "1.5"]))}` },
        { kind: "cancel wait", method: "POST", path: `/threads/${REAL_THREAD}/runs/${real.runId}/cancel?wait=${encodeURIComponent(f.pick(["maybe", "2", "yes", "TRUE"]))}` },
        { kind: "cancel action", method: "POST", path: `/threads/${REAL_THREAD}/runs/${real.runId}/cancel?action=${encodeURIComponent(f.pick(["explode", "ROLLBACK", "", "interrupt "]))}` },
        { kind: "malformed percent-encoding", method: "GET", path: f.pick([`/threads/%E0%A4%A`, `/threads/%`, `/threads/%zz/state`, `/assistants/%ff%fe`, `/threads/${REAL_THREAD}/runs/%C0%80`]) },
      ]);
    }
    case "unknown route":
      return {
        kind: "unknown route",
        method: f.pick(["GET", "POST", "PUT", "PATCH", "DELETE"]),
        path: f.pick(["/store/items", "/crons", "/threads/x/y/z/w", "/runs/x/y/z", "/../../etc/passwd", "/assistants", `/${"a".repeat(2000)}`, "/threads/*/state/*/*", "/%2e%2e/%2e%2e"]),
      };
    case "hostile headers": {
      const headers: Record<string, string> = f.pick([
        { "x-huge": "h".repeat(f.between(20_000, 60_000)) },
        Object.fromEntries(Array.from({ length: 200 }, (_, n) => [`x-h${n}`, "v".repeat(100)])),
        { traceparent: f.pick(["00-garbage", "zz", "00-" + "0".repeat(32) + "-" + "0".repeat(16) + "-00"]), tracestate: "\u00ff".replace(/./, "x") },
        { "content-type": f.pick(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin1"]) },
      ]);
      // On a request that is invalid anyway, so that only the headers are new.
      return { kind: `hostile headers ${Object.keys(headers)[0]}`, method: "POST", path: "/threads/search", body: JSON.stringify({ limit: "ten" }), headers, ownConnection: true };
    }
    default: {
      const body = f.pick([
        '{"thread_id":"gz-dup","thread_id":"../x"}',
        '{"metadata":{},"metadata":7}',
        '{"assistant_id":"echo","assistant_id":7}',
      ]);
      const path = body.includes("assistant_id") ? "/runs/wait" : body.includes("thread_id") ? "/threads" : `/threads/${REAL_THREAD}`;
      return { kind: "duplicate keys", method: body.includes("thread_id") || body.includes("assistant_id") ? "POST" : "PATCH", path, body };
    }
  }
}

/** One request on a connection of its own; resolves with the status once the answer is read. */
function sendAlone(url: string, request: HostileRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = request.body === undefined ? undefined : Buffer.from(request.body);
    const headers = { ...request.headers, ...(body && !request.chunked ? { "content-length": String(body.length) } : {}) };
    const req = httpRequest(`${url}${request.path}`, { method: request.method, headers, agent: false, timeout: REQUEST_TIMEOUT_MS }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? -1));
      response.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    // Writing on after the server answered and closed is expected here; the answer counts.
    req.on("error", (error) => (req.writableEnded && (req as { res?: unknown }).res ? undefined : reject(error)));
    if (body) for (let at = 0; at < body.length; at += 16 * 1024) req.write(body.subarray(at, at + 16 * 1024));
    req.end();
  });
}

describe(`${COUNT} hostile HTTP requests (seed ${SEED})`, () => {
  let stack: GatewayStack;
  let url: string;
  let realRunId: string;

  beforeAll(async () => {
    stack = await startGatewayStack({ graphs: testGraphs, config: { maxCommandBytes: MAX_BODY_BYTES } });
    url = stack.urls[0]!;
    await stack.sdk.threads.create({ threadId: REAL_THREAD, metadata: { graph_id: "echo" } });
    const run = await stack.sdk.runs.create(REAL_THREAD, "echo", { input: { messages: [{ role: "user", content: "hello" }] } });
    await stack.sdk.runs.join(REAL_THREAD, run.run_id);
    realRunId = run.run_id;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("answers every one with a 4xx, never a 5xx or a hang, and serves afterwards", { timeout: 300_000 }, async () => {
    const started = Date.now();
    const heapBefore = heapAfterGc();
    const f = new Fuzz(SEED);
    const statuses = new Map<number, number>();
    const kinds = new Map<string, number>();
    const failures: string[] = [];
    let slowestMs = 0;
    let next = 0;
    const send = async (request: HostileRequest & { category: string }): Promise<void> => {
      const begun = Date.now();
      let status: number;
      try {
        if (request.ownConnection) status = await sendAlone(url, request);
        else {
          const response = await fetch(`${url}${request.path}`, {
            method: request.method,
            ...(request.body !== undefined ? { body: request.body } : {}),
            ...(request.headers ? { headers: request.headers } : {}),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          status = response.status;
          // Read the whole answer: a stream that never ends is a hang too.
          await response.arrayBuffer();
        }
      } catch (error) {
        status = -1;
        failures.push(`${request.method} ${request.path.slice(0, 120)} (${request.kind}): ${error instanceof Error ? `${error.name} ${error.message} ${String((error.cause as { code?: string } | undefined)?.code ?? error.cause ?? "")}` : String(error)}`);
      }
      slowestMs = Math.max(slowestMs, Date.now() - begun);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      kinds.set(request.category, (kinds.get(request.category) ?? 0) + 1);
      if (status !== -1 && (status < 400 || status > 499)) {
        const body = typeof request.body === "string" ? request.body.slice(0, 160) : request.body ? `<${request.body.length} bytes>` : "";
        failures.push(`${status} ${request.method} ${request.path.slice(0, 120)} (${request.kind}) ${body}`);
      }
    };
    // Requests are made in order from one generator, so the sequence is the seed's whatever the timing.
    const lanes = Array.from({ length: CONCURRENCY }, async () => {
      while (next < COUNT) {
        const index = next++;
        await send(hostileRequest(f, index, { runId: realRunId }));
      }
    });
    await Promise.all(lanes);
    const fuzzed = Date.now();

    // Still serving: a valid read and a valid run.
    const thread = await fetch(`${url}/threads/${REAL_THREAD}`);
    expect(thread.status).toBe(200);
    const wait = await fetch(`${url}/threads/${REAL_THREAD}/runs/wait`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ assistant_id: "echo", input: { messages: [{ role: "user", content: "after the fuzz" }] } }),
    });
    expect(wait.status).toBe(200);
    expect(JSON.stringify(await wait.json())).toContain("after the fuzz");

    expect(Object.prototype).not.toHaveProperty(MARKER);
    expect(Object.getOwnPropertyNames(Object.prototype).filter((k) => k.startsWith("fuzz"))).toEqual([]);

    const heapAfter = heapAfterGc();
    console.log(
      JSON.stringify({
        test: "gateway-fuzz",
        seed: SEED,
        requests: COUNT,
        statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
        kinds: Object.fromEntries([...kinds].sort()),
        failures: failures.length,
        slowest_ms: slowestMs,
        heap_growth_mb: +((heapAfter - heapBefore) / 2 ** 20).toFixed(1),
        fuzz_s: (fuzzed - started) / 1000,
        total_s: (Date.now() - started) / 1000,
      }),
    );
    expect({ failures: failures.length, first: failures.slice(0, 25) }).toEqual({ failures: 0, first: [] });
    expect([...statuses.keys()].every((status) => status >= 400 && status <= 499)).toBe(true);
    expect(heapAfter - heapBefore).toBeLessThan(50 * 2 ** 20);
  });
});

/**
 * The gateway's answers to bad input that used to get through: bodies that are not UTF-8, nest too
 * deep, carry `__proto__` or exceed the body limit; a `null` state-checkpoint body (a 500); and
 * unbounded or unknown query values on run lists and history (answered 200).
 */
import { describe, expect, it } from "vitest";
import { createGatewayApp } from "../../../src/gateway/app.js";
import { Assistants } from "../../../src/gateway/assistants.js";
import type { GatewayBackend } from "../../../src/gateway/backend.js";
import type { GraphState } from "../../../src/gateway/graph-state.js";
import { silentLogger } from "../../../src/logger.js";
import type { ThreadRecord } from "../../../src/ports.js";

const thread: ThreadRecord = { thread_id: "t-1", status: "idle", display_name: null, metadata: {}, active_run_id: null, created_at: new Date(0), updated_at: new Date(0) };
const sent: unknown[] = [];

/** Reads answer with one idle thread and nothing else; a command sent is a test failure. */
const backend = {
  client: {
    send: async (command: unknown) => {
      sent.push(command);
      return { accepted: true };
    },
  },
  threads: { get: async (id: string) => (id === thread.thread_id ? thread : undefined), list: async () => [], count: async () => 0 },
  runs: { get: async () => undefined, listByThread: async () => [] },
  state: { state: async () => ({ values: {} }), history: async () => [], values: async () => ({ values: null, interrupts: {} }) } as unknown as GraphState,
  assistants: new Assistants(["echo"]),
  logger: silentLogger(),
  heartbeatMs: 1000,
} as unknown as GatewayBackend;

const app = createGatewayApp(backend, { corsOrigins: [], maxBodyBytes: 1024 });

async function answer(path: string, init: RequestInit = {}): Promise<{ status: number; code: string }> {
  const response = await app.request(path, init);
  const body = (await response.json()) as { code?: string };
  return { status: response.status, code: body.code ?? "" };
}

const post = (path: string, body: string | Buffer) => answer(path, { method: "POST", body, headers: { "content-type": "application/json" } });

describe("gateway: bad request bodies", () => {
  it("refuses a body that is not UTF-8 (it would be read as U+FFFD and stored)", async () => {
    const body = Buffer.concat([Buffer.from('{"metadata":{"k":"'), Buffer.from([0xff]), Buffer.from('"}}')]);
    expect(await post("/threads", body)).toEqual({ status: 422, code: "invalid_json" });
    expect(sent).toEqual([]);
  });

  it("refuses a body nested deeper than a command may be, at any depth", async () => {
    for (const depth of [65, 400]) {
      expect(await post("/threads/search", `{"metadata":{"m":${"[".repeat(depth)}${"]".repeat(depth)}}}`)).toEqual({ status: 422, code: "json_too_deep" });
    }
  });

  it("refuses a __proto__ key anywhere in a body", async () => {
    expect(await post("/threads", '{"metadata":{"a":{"__proto__":{"polluted":true}}}}')).toEqual({ status: 422, code: "invalid_request" });
    expect(await post("/threads", '{"__proto__":{"polluted":true}}')).toEqual({ status: 422, code: "invalid_request" });
    expect(sent).toEqual([]);
  });

  it("answers a body over the limit 413, with or without a Content-Length", async () => {
    const big = JSON.stringify({ metadata: { pad: "p".repeat(2000) } });
    expect(await post("/threads", big)).toEqual({ status: 413, code: "request_too_large" });
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode(big.slice(i * 500, (i + 1) * 500)));
        controller.close();
      },
    });
    expect(await answer("/threads", { method: "POST", body: chunked, duplex: "half" } as RequestInit)).toEqual({ status: 413, code: "request_too_large" });
  });

  it("answers a state-checkpoint body that is not an object 422, not 500", async () => {
    for (const body of ["null", "[]", "7", '{"subgraphs":"yes"}', '{"checkpoint":[]}']) {
      expect(await post("/threads/t-1/state/checkpoint", body), body).toEqual({ status: 422, code: "invalid_request" });
    }
    expect((await app.request("/threads/t-1/state/checkpoint", { method: "POST", body: '{"checkpoint":{"checkpoint_id":"c"}}' })).status).toBe(200);
  });
});

describe("gateway: bad query values", () => {
  it("bounds run list limits and offsets, and refuses unknown statuses", async () => {
    for (const query of ["limit=1e300", "limit=1001", "limit=99999999999999999999", "offset=1e300", "offset=-1", "status=bogus", "status=SUCCESS"]) {
      expect(await answer(`/threads/t-1/runs?${query}`), query).toEqual({ status: 422, code: "invalid_request" });
    }
    expect((await app.request("/threads/t-1/runs?limit=1000&offset=5&status=success")).status).toBe(200);
  });

  it("bounds the history limit", async () => {
    for (const limit of ["1e300", "1001", "0"]) expect(await answer(`/threads/t-1/history?limit=${limit}`), limit).toEqual({ status: 422, code: "invalid_request" });
    expect((await app.request("/threads/t-1/history?limit=1000")).status).toBe(200);
  });
});

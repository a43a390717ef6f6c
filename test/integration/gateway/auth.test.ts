/**
 * An authenticated gateway, judged by the LangGraph SDK's Client: two identities with API keys
 * (what the SDK sends as `x-api-key`) and a bearer JWT, on the real broker and MongoDB-compatible
 * server. Each identity sees and touches only its own threads and runs; anyone else gets a 404.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@langchain/langgraph-sdk";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testGraphs } from "../../fixtures/graphs.js";
import { startGatewayStack, type GatewayStack } from "../../helpers/gateway.js";

const ALICE_KEY = "alice-0123456789-abcdefghij";
const BOB_KEY = "bob-0123456789-abcdefghijkl";
const SECRET = "the-gateway-test-secret-of-32-characters-or-more";
const ISSUER = "https://issuer.runbus.test/";
const AUDIENCE = "runbus-gateway-test";

let stack: GatewayStack;
let dir: string;
let url: string;
let alice: Client;
let bob: Client;

const client = (options: { apiKey?: string; bearer?: string }) =>
  new Client({
    apiUrl: url,
    // null: never fall back to LANGGRAPH_API_KEY / LANGSMITH_API_KEY from the environment.
    apiKey: options.apiKey ?? null,
    ...(options.bearer ? { defaultHeaders: { Authorization: `Bearer ${options.bearer}` } } : {}),
    callerOptions: { maxRetries: 0 },
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "runbus-gateway-auth-"));
  const apiKeysFile = join(dir, "api-keys.json");
  await writeFile(apiKeysFile, JSON.stringify({ [ALICE_KEY]: "alice", [BOB_KEY]: "bob" }));
  stack = await startGatewayStack({
    graphs: testGraphs,
    config: { gateway: { auth: { apiKeysFile, jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } } } },
  });
  url = stack.urls[0]!;
  alice = client({ apiKey: ALICE_KEY });
  bob = client({ apiKey: BOB_KEY });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
}, 30_000);

const human = (content: string) => ({ messages: [{ type: "human", content }] });
const notFound = { status: 404 };

describe("an authenticated gateway", () => {
  it("answers 401 with a stable code without credentials or with a wrong key, and leaves /ok and /info open", async () => {
    const bare = await fetch(`${url}/threads/search`, { method: "POST", body: "{}" });
    expect(bare.status).toBe(401);
    expect(await bare.json()).toMatchObject({ code: "unauthenticated" });
    const wrong = await fetch(`${url}/threads/search`, { method: "POST", body: "{}", headers: { "x-api-key": "nobody-0123456789-abcdef" } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ code: "invalid_credentials" });
    await expect(client({}).threads.search()).rejects.toMatchObject({ status: 401 });
    await expect(client({}).assistants.search()).rejects.toMatchObject({ status: 401 });
    expect((await fetch(`${url}/ok`)).status).toBe(200);
    expect((await fetch(`${url}/info`)).status).toBe(200);
  });

  it("scopes threads and runs to their owner: the other identity sees none of them and gets 404 on each", async () => {
    const mine = await alice.threads.create({ metadata: { team: "core" } });
    const theirs = await bob.threads.create({ metadata: { team: "core" } });
    const done = await alice.runs.create(mine.thread_id, "echo", { input: human("hi") });
    await alice.runs.join(mine.thread_id, done.run_id);

    // Search and count filter by owner, whatever else the query says.
    const aliceSees = (await alice.threads.search({ limit: 100 })).map((t) => t.thread_id);
    const bobSees = (await bob.threads.search({ metadata: { team: "core" }, limit: 100 })).map((t) => t.thread_id);
    expect(aliceSees).toContain(mine.thread_id);
    expect(aliceSees).not.toContain(theirs.thread_id);
    expect(bobSees).toEqual([theirs.thread_id]);
    expect(await bob.threads.count({ metadata: { team: "core" } })).toBe(1);
    expect((await bob.threads.search({ ids: [mine.thread_id] })).length).toBe(0);

    // Bob on Alice's thread and run: 404 everywhere, as if they did not exist.
    const running = await alice.runs.create(mine.thread_id, "slow", { input: {} });
    await expect(bob.threads.get(mine.thread_id)).rejects.toMatchObject(notFound);
    await expect(bob.threads.getState(mine.thread_id)).rejects.toMatchObject(notFound);
    await expect(bob.threads.getHistory(mine.thread_id)).rejects.toMatchObject(notFound);
    await expect(bob.threads.update(mine.thread_id, { metadata: { hijacked: true } })).rejects.toMatchObject(notFound);
    await expect(bob.threads.copy(mine.thread_id)).rejects.toMatchObject(notFound);
    await expect(bob.runs.list(mine.thread_id)).rejects.toMatchObject(notFound);
    await expect(bob.runs.get(mine.thread_id, done.run_id)).rejects.toMatchObject(notFound);
    await expect(bob.runs.join(mine.thread_id, running.run_id)).rejects.toMatchObject(notFound);
    await expect(bob.runs.cancel(mine.thread_id, running.run_id)).rejects.toMatchObject(notFound);
    await expect(bob.runs.delete(mine.thread_id, done.run_id)).rejects.toMatchObject(notFound);
    await expect(bob.threads.delete(mine.thread_id)).rejects.toMatchObject(notFound);
    await expect(bob.runs.create(mine.thread_id, "echo", { input: human("x"), ifNotExists: "create" })).rejects.toMatchObject(notFound);
    const joined = await fetch(`${url}/threads/${mine.thread_id}/runs/${running.run_id}/stream`, { headers: { "x-api-key": BOB_KEY } });
    expect(joined.status).toBe(404);
    // Taking the id over is refused too (the id exists, so a 409, never Alice's thread).
    await expect(bob.threads.create({ threadId: mine.thread_id, ifExists: "do_nothing" })).rejects.toMatchObject({ status: 409 });
    const cancelMany = await fetch(`${url}/runs/cancel`, { method: "POST", headers: { "x-api-key": BOB_KEY }, body: JSON.stringify({ run_ids: [running.run_id] }) });
    expect(cancelMany.status).toBe(204);

    // None of it touched Alice's thread or run.
    const stillMine = await alice.threads.get(mine.thread_id);
    expect(stillMine.metadata).toEqual({ team: "core" });
    expect((await alice.runs.get(mine.thread_id, running.run_id)).status).not.toBe("interrupted");
    await alice.runs.cancel(mine.thread_id, running.run_id, true);
    expect((await alice.runs.get(mine.thread_id, running.run_id)).status).toBe("interrupted");
    expect((await alice.runs.list(mine.thread_id)).map((r) => r.run_id).sort()).toEqual([done.run_id, running.run_id].sort());
    const copy = await alice.threads.copy(mine.thread_id);
    await expect(bob.threads.get(copy.thread_id)).rejects.toMatchObject(notFound);
    await alice.threads.delete(copy.thread_id);
    await alice.threads.delete(mine.thread_id);
    await expect(alice.threads.get(mine.thread_id)).rejects.toMatchObject(notFound);
    await bob.threads.delete(theirs.thread_id);
  });

  it("scopes stateless runs to their caller too", async () => {
    const run = await alice.runs.create(null, "slow", { input: {} });
    const stream = (key: string) => fetch(`${url}/runs/${run.run_id}/stream`, { headers: { "x-api-key": key, "Last-Event-ID": "-1" } });
    expect((await stream(BOB_KEY)).status).toBe(404);
    const own = await stream(ALICE_KEY);
    expect(own.status).toBe(200);
    expect(await own.text()).toContain("event: end");
  });

  it("takes a bearer JWT's sub as the identity: the same owner as that identity's API key", async () => {
    const token = await new SignJWT({ sub: "alice" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(SECRET));
    const withJwt = client({ bearer: token });
    const thread = await alice.threads.create();
    expect((await withJwt.threads.get(thread.thread_id)).thread_id).toBe(thread.thread_id);
    const values = await withJwt.runs.wait(thread.thread_id, "echo", { input: human("jwt") });
    expect((values as { messages: unknown[] }).messages).toHaveLength(3);
    await expect(bob.threads.get(thread.thread_id)).rejects.toMatchObject(notFound);

    const stranger = await new SignJWT({ sub: "alice" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("https://elsewhere.test/")
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(SECRET));
    await expect(client({ bearer: stranger }).threads.get(thread.thread_id)).rejects.toMatchObject({ status: 401 });
    await alice.threads.delete(thread.thread_id);
  });
});

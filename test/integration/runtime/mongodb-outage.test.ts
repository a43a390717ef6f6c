/**
 * DESIGN §7 outages, the database side: a MongoDB-compatible server that goes away mid-run.
 * Either the checkpoint writes wait and go through once it is back, or the run fails with a
 * clear error — never a silent hang.
 */
import { MongoClient } from "mongodb";
import { afterEach, describe, expect, it } from "vitest";
import type { RunEvent } from "../../../src/protocol/events.js";
import { DEFAULT_RETRY } from "../../../src/adapters/mongo/retrying-saver.js";
import { createMongoSaver } from "../../../src/adapters/mongo/saver.js";
import { SecantusProcess } from "../../helpers/secantus-process.js";
import { UNLIMITED_STEPS, collectRun, createRun, createTestRuntime, lifecycleGraphs, newId, quickSlowGraph, waitForEvent } from "../../helpers/runtime.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
});

async function setup(retryBudgetMs: number) {
  const server = await SecantusProcess.start();
  cleanup.push(() => server.destroy());
  const client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 500 });
  cleanup.push(() => client.close());
  const saver = await createMongoSaver(client, { dbName: "outage", retry: { ...DEFAULT_RETRY, budgetMs: retryBudgetMs } });
  const { runtime } = createTestRuntime({ graphs: lifecycleGraphs({ steps: quickSlowGraph(15, 60) }), checkpointer: saver });
  cleanup.push(() => runtime.supervisor.drain(0));
  return { server, saver, runtime };
}

const stepReached = (step: number) => (event: RunEvent) => event.name === "values" && (event.data as { step?: number }).step === step;

describe("a MongoDB-compatible server outage mid-run", () => {
  it("a short outage: the checkpoint writes wait for the server and the run completes every step", async () => {
    const { server, saver, runtime } = await setup(20_000);
    const threadId = newId("thread");
    const reply = await createRun(runtime, { thread_id: threadId, graph_id: "steps", input: { messages: [] }, config: UNLIMITED_STEPS });
    await waitForEvent(runtime, reply.run_id, stepReached(3));
    await server.down();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await server.up();

    const events = await collectRun(runtime, reply.run_id);
    expect(events.at(-1)?.data).toEqual({ status: "success" });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    const latest = await saver.getTuple({ configurable: { thread_id: threadId } });
    expect(latest?.checkpoint.channel_values).toMatchObject({ step: 15 });
  });

  it("a lasting outage: the run ends error saying the server stayed unreachable, and the thread is released", async () => {
    const { server, runtime } = await setup(1500);
    const threadId = newId("thread");
    const reply = await createRun(runtime, { thread_id: threadId, graph_id: "steps", input: { messages: [] }, config: UNLIMITED_STEPS });
    await waitForEvent(runtime, reply.run_id, stepReached(2));
    await server.down();

    const events = await collectRun(runtime, reply.run_id);
    const end = events.at(-1)?.data as { status: string; error?: { name: string; message: string } };
    expect(end.status).toBe("error");
    expect(end.error?.message).toMatch(/^Could not .+: the MongoDB server stayed unreachable for \d+ ms over \d+ attempts/);
    expect(events.filter((e) => e.name === "error")).toHaveLength(1);
    expect(await runtime.adapters.threads.get(threadId)).toMatchObject({ status: "error", active_run_id: null });
  });
});

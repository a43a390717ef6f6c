import { randomUUID } from "node:crypto";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, inject, it } from "vitest";
import { openMongoStores } from "../../../src/adapters/mongo/stores.js";
import { createClient } from "../../../src/client/client.js";
import { startKafkaWorker, uniquePrefix, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";

const uri = inject("mongodbUri");
const dbName = `runbus_threads_${randomUUID().replaceAll("-", "")}`;
const prefix = uniquePrefix();
const stopped: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const stop of stopped.reverse()) await stop().catch(() => undefined);
  const client = new MongoClient(uri);
  await client.db(dbName).dropDatabase();
  await client.close();
});

async function workerOnMongo(): Promise<KafkaWorkerSetup> {
  const setup = await startKafkaWorker({ prefix, stores: await openMongoStores({ uri, dbName }) });
  stopped.push(() => setup.stop());
  return setup;
}

describe("threads through commands and the client, kept in MongoDB", () => {
  it("creates, lists by status and metadata, updates and deletes threads; a restarted worker sees them all", async () => {
    const first = await workerOnMongo();
    const client = createClient({ brokers: inject("kafkaBrokers"), topicPrefix: prefix, mongodb: { uri, dbName }, replyTimeoutMs: 20_000 });
    stopped.push(() => client.close());

    expect(await client.threads.create("t-alice", { owner: "alice", tier: "gold" })).toMatchObject({ accepted: true });
    expect(await client.threads.create("t-bob", { owner: "bob" })).toMatchObject({ accepted: true });
    expect(await client.threads.create("t-alice", {})).toMatchObject({ accepted: false, code: "thread_exists" });

    const run = await client.runs.wait({ thread_id: "t-alice", graph_id: "echo", input: { messages: [{ role: "user", content: "first" }] } });
    expect(run.status).toBe("success");
    // `end` is written before the thread is released (DESIGN §6): the release follows shortly.
    await expect
      .poll(() => client.threads.get("t-alice"), { timeout: 10_000, interval: 100 })
      .toMatchObject({ status: "idle", display_name: "Echo: first", metadata: { owner: "alice", tier: "gold" } });
    expect((await client.threads.list({ metadata: { owner: "bob" } })).map((t) => t.thread_id)).toEqual(["t-bob"]);
    expect((await client.threads.list({ status: "idle", limit: 1 })).map((t) => t.thread_id)).toEqual(["t-alice"]);

    expect(await client.threads.update("t-bob", { tier: "silver" })).toMatchObject({ accepted: true });
    expect((await client.threads.get("t-bob"))?.metadata).toEqual({ owner: "bob", tier: "silver" });

    // A new worker on the same database: threads, runs and checkpoints are all there.
    await first.stop();
    const second = await workerOnMongo();
    const stores = await openMongoStores({ uri, dbName });
    stopped.push(() => stores.close());
    expect((await stores.runs.get(run.run_id))?.status).toBe("success");
    const next = await second.client.runs.wait({ thread_id: "t-alice", graph_id: "echo", input: { messages: [{ role: "user", content: "second" }] } });
    expect(next.status).toBe("success");
    const values = next.values as { messages: Array<{ content: string }>; count: number };
    // The second run continued the thread's state from MongoDB: the first run's messages come first.
    const contents = values.messages.map((m) => m.content);
    expect(contents.slice(0, 4)).toEqual(["first", "echo: first", "echo done", "second"]);
    expect(contents).toHaveLength(6);

    // A busy thread is not deleted unless forced; a delete takes its runs and checkpoints along.
    const slow = await second.client.runs.create({ thread_id: "t-bob", graph_id: "slow", input: {}, config: { recursion_limit: 1000 } });
    expect(slow.accepted).toBe(true);
    expect(await client.threads.delete("t-bob")).toMatchObject({ accepted: false, code: "thread_busy" });
    expect(await client.threads.delete("t-bob", { force: true })).toMatchObject({ accepted: true });
    expect(await client.threads.delete("t-alice")).toMatchObject({ accepted: true });
    expect(await client.threads.get("t-alice")).toBeUndefined();
    expect(await stores.runs.listByThread("t-alice")).toEqual([]);
    expect(await stores.checkpointer.getTuple({ configurable: { thread_id: "t-alice" } })).toBeUndefined();
  });
});

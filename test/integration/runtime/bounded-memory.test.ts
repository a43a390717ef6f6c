/**
 * Bounded memory on the real servers (issue 11): a worker on Kafka and the MongoDB-compatible
 * server serves a few hundred threads and keeps nothing per thread afterwards — the thread audit
 * seq lives in the thread document, so a second worker goes on numbering the same threads where
 * the first stopped. (The in-memory test runs 10,000 threads; that many per-run topics would test
 * the broker, not runbus.)
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Topics } from "../../../src/adapters/kafka/topics.js";
import { openMongoStores, type MongoStores } from "../../../src/adapters/mongo/stores.js";
import { createClient, type RunbusClient } from "../../../src/client/client.js";
import { distinctTransitions, transitionSchema, type Transition } from "../../../src/protocol/audit.js";
import type { Runtime } from "../../../src/runtime.js";
import { startKafkaWorker, uniquePrefix, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";
import { collectionsReachableFrom, largeCollections } from "../../helpers/retained.js";
import { TopicTap, jsonOf } from "../kafka/topic-tap.js";

const THREADS = 300;
const AGAIN = 20;
const uri = inject("mongodbUri");
const brokers = inject("kafkaBrokers");
const dbName = `runbus_memory_${randomUUID().replaceAll("-", "")}`;
const prefix = uniquePrefix();
const human = (content: string) => ({ messages: [{ role: "user", content }] });

let client: RunbusClient;
let observer: MongoStores;
let transitions: TopicTap;
const workers: KafkaWorkerSetup[] = [];

beforeAll(async () => {
  client = createClient({ brokers, topicPrefix: prefix, replyTimeoutMs: 60_000, eventTopicMode: "shared" });
  observer = await openMongoStores({ uri, dbName, probeAtomicity: false });
});

afterAll(async () => {
  await Promise.allSettled(workers.map((worker) => worker.stop()));
  await client?.close();
  await transitions?.stop();
  await observer?.db.dropDatabase();
  await observer?.close();
});

async function startWorker(): Promise<KafkaWorkerSetup> {
  // The shared event topic: hundreds of per-run topics would measure the broker's topic creation
  // (tens of seconds on this machine), not what runbus keeps per thread.
  const worker = await startKafkaWorker({ prefix, stores: await openMongoStores({ uri, dbName }), config: { eventTopicMode: "shared" } });
  workers.push(worker);
  return worker;
}

/** Runs `echo` once on each thread and waits until every one of them is idle again. */
async function runAll(threadIds: string[]): Promise<void> {
  const replies = await Promise.all(threadIds.map((threadId) => client.runs.create({ thread_id: threadId, graph_id: "echo", input: human(threadId) })));
  expect(replies.filter((reply) => !reply.accepted)).toEqual([]);
  const runIds = new Set(replies.map((reply) => reply.run_id));
  await expect
    .poll(async () => (await observer.threads.list({ status: "idle" })).filter((thread) => thread.active_run_id === null && threadIds.includes(thread.thread_id)).length, {
      timeout: 120_000,
      interval: 500,
    })
    .toBe(threadIds.length);
  for (const runId of runIds) expect((await observer.runs.get(runId))?.status).toBe("success");
}

/** What the worker's runtime keeps outside its stores, after its runs ended. */
async function expectNothingPerThread(runtime: Runtime, threads: number): Promise<void> {
  expect(runtime.threads.threadsInFlight).toBe(0);
  expect(runtime.supervisor.activeRuns.size).toBe(0);
  const stores = [...Object.values(runtime.options.adapters), runtime.options.checkpointer, runtime.options.control];
  const guard = collectionsReachableFrom(runtime, stores).filter((collection) => /\.guard\.\w+$/.test(collection.path));
  expect(guard.length).toBeGreaterThan(0);
  expect(guard.filter((collection) => collection.size > 0)).toEqual([]);
  // A tenth of the threads would be a leak; a few entries are the drivers' own (listeners, pools).
  // Finished runs' leases wait up to a quarter of a lease for the batch that ends them (LeaseEndings).
  const batchMs = (runtime.options.leaseMs ?? 0) / 4;
  await expect.poll(() => largeCollections(runtime, Math.max(10, threads / 10), stores), { timeout: batchMs + 5000 }).toEqual([]);
}

function threadRecords(threadId: string): Transition[] {
  return transitions.records
    .filter((record) => record.key === threadId)
    .map((record) => transitionSchema.parse(jsonOf(record)))
    .filter((transition) => transition.kind === "thread");
}

describe("a worker on Kafka and MongoDB after a few hundred threads", () => {
  it("keeps nothing per thread, and a second worker numbers the threads' transitions on from the first", { timeout: 300_000 }, async () => {
    const threadIds = Array.from({ length: THREADS }, (_, i) => `mem-${i}`);
    const first = await startWorker();
    // The worker created the audit topic; the tap reads it from offset 0.
    transitions = await TopicTap.start(brokers, new Topics(prefix).transitions);
    await runAll(threadIds);
    await expectNothingPerThread(first.worker.runtime, THREADS);

    await first.stop();
    const second = await startWorker();
    const again = threadIds.slice(0, AGAIN);
    await runAll(again);
    await expectNothingPerThread(second.worker.runtime, AGAIN);

    // Counted as readers count them, once per ce_id: a claim republishes another worker's release.
    await expect.poll(() => distinctTransitions(threadRecords(again[0]!)).length, { timeout: 15_000 }).toBe(5);
    for (const threadId of threadIds) {
      const expected = again.includes(threadId) ? 5 : 3;
      await expect.poll(() => distinctTransitions(threadRecords(threadId)).length, { timeout: 15_000 }).toBe(expected);
      const records = distinctTransitions(threadRecords(threadId)).sort((a, b) => a.seq - b.seq);
      expect(records.map((record) => record.seq), threadId).toEqual(records.map((_, i) => i));
      expect(records.map((record) => [record.from, record.to])).toEqual(
        [[null, "idle"], ["idle", "busy"], ["busy", "idle"], ["idle", "busy"], ["busy", "idle"]].slice(0, expected),
      );
      expect(records.map((record) => record.worker_id)).toEqual([first.worker.id, first.worker.id, first.worker.id, second.worker.id, second.worker.id].slice(0, expected));
    }
  });
});

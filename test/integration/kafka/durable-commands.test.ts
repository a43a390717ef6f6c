/**
 * Commands that must not be lost between workers (DESIGN §7): a cancel is stored on the run before
 * it is acknowledged and honoured by whichever worker holds the run, a multitask interrupt and a
 * forced thread delete reach runs hosted elsewhere, and a stopping worker hands its queued and
 * delayed runs to the others. Real Kafka, the MongoDB-compatible server, two workers on one database.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openMongoStores, type MongoStores } from "../../../src/adapters/mongo/stores.js";
import { createClient, type RunbusClient } from "../../../src/client/client.js";
import { loadConfig } from "../../../src/config.js";
import { silentLogger } from "../../../src/logger.js";
import type { Reply } from "../../../src/protocol/replies.js";
import { Worker } from "../../../src/worker.js";
import { graphs } from "../../fixtures/durable-graphs.js";
import { uniquePrefix } from "../../helpers/kafka-worker.js";
import { UNLIMITED_STEPS, collectEvents, endOf, human, waitForEvents } from "./run-helpers.js";

const LEASE_MS = 3000;
const ROOT = resolve(import.meta.dirname, "../../..");
const brokers = inject("kafkaBrokers");
const uri = inject("mongodbUri");
const dbName = `runbus_durable_${randomUUID().replaceAll("-", "")}`;
const prefix = uniquePrefix();

const started: Worker[] = [];
const children: ChildProcess[] = [];
let client: RunbusClient;
let observer: MongoStores;

async function startWorker(): Promise<Worker> {
  const config = loadConfig(
    {},
    { kafka: { brokers }, mongodb: { uri, dbName }, topicPrefix: prefix, commandPartitions: 3, leaseMs: LEASE_MS, shutdownGraceMs: 20_000 },
  );
  const worker = await Worker.create(config, { graphs, logger: silentLogger() });
  await worker.start();
  started.push(worker);
  return worker;
}

/** A `runbus worker` process, for a worker that must die without a word (SIGKILL). */
async function spawnWorker(): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("RUNBUS_")) env[key] = value;
  Object.assign(env, {
    RUNBUS_KAFKA_BROKERS: brokers.join(","),
    RUNBUS_MONGODB_URI: uri,
    RUNBUS_MONGODB_DB: dbName,
    RUNBUS_TOPIC_PREFIX: prefix,
    RUNBUS_COMMAND_PARTITIONS: "3",
    RUNBUS_LEASE_MS: String(LEASE_MS),
    RUNBUS_WORKER_ID: `killed-${randomUUID().slice(0, 6)}`,
    RUNBUS_METRICS_PORT: "0",
  });
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "worker", "--graphs", "test/fixtures/durable-graphs.ts"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  await new Promise<void>((resolvePromise, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`worker process did not start: ${seen.slice(-2000)}`)), 60_000);
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-8192);
      if (seen.includes('"msg":"worker started"')) {
        clearTimeout(timer);
        resolvePromise();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`worker process exited (${code}) before it started: ${seen.slice(-2000)}`)));
  });
  return child;
}

function newThread(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

async function startSlowRun(threadId: string): Promise<string> {
  const reply = await client.runs.create({ thread_id: threadId, graph_id: "slow", input: human("go"), stream_mode: ["updates"], config: UNLIMITED_STEPS });
  expect(reply).toMatchObject({ accepted: true, disposition: "started" });
  await waitForEvents(client, reply.run_id, (event) => event.name === "updates", 2);
  return reply.run_id;
}

/** The worker that does not host `runId` handles `command`, as if the command partition were its. */
function otherWorker(runWorkerId: string | null | undefined, workers: Worker[]): Worker {
  const other = workers.find((worker) => worker.id !== runWorkerId);
  if (!other) throw new Error(`no worker other than ${runWorkerId}`);
  return other;
}

beforeAll(async () => {
  client = createClient({ brokers, topicPrefix: prefix, replyTimeoutMs: 30_000 });
  observer = await openMongoStores({ uri, dbName, probeAtomicity: false });
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await Promise.allSettled(started.map((worker) => worker.stop(2000)));
  await client?.close();
  await observer?.db.dropDatabase();
  await observer?.close();
});

describe("durable commands across workers", () => {
  it("a cancel sent while the run's worker is down is stored, and the worker that takes the run over honours it", async () => {
    const doomed = await spawnWorker();
    const threadId = newThread("cancel-taker");
    const runId = await startSlowRun(threadId);
    const taker = await startWorker();
    doomed.kill("SIGKILL");

    // Handled by the live worker while the run is hosted nowhere: its lease has not lapsed yet,
    // and the control topic has no reader for it any more.
    const reply = await taker.runtime.supervisor.handle({ type: "run.cancel", run_id: runId, thread_id: threadId, action: "interrupt" });
    expect(reply).toMatchObject({ accepted: true, disposition: "stored" });
    expect(taker.runtime.supervisor.activeRuns.has(runId)).toBe(false);
    expect((await observer.runs.get(runId))?.cancel_requested?.action).toBe("interrupt");

    const events = await collectEvents(client, runId);
    expect(endOf(events)).toEqual({ status: "interrupted" });
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i));
    // The thread's release and the lease's end follow `end`.
    await expect.poll(async () => (await observer.runs.get(runId))?.lease_until, { timeout: 10_000 }).toBeNull();
    expect(await observer.runs.get(runId)).toMatchObject({ status: "interrupted", worker_id: taker.id, attempt: 2 });
    await expect.poll(() => observer.threads.get(threadId), { timeout: 10_000 }).toMatchObject({ active_run_id: null, status: "interrupted" });
  });

  it("a cancel for a delayed run on another worker is applied there at once", async () => {
    const workers = [started[0]!, await startWorker()];
    const threadId = newThread("cancel-delayed");
    const created = await client.runs.create({ thread_id: threadId, graph_id: "echo", input: human("later"), after_seconds: 3600 });
    expect(created).toMatchObject({ accepted: true, disposition: "scheduled" });
    const host = (await observer.runs.get(created.run_id))?.worker_id;

    const reply = await otherWorker(host, workers).runtime.supervisor.handle({ type: "run.cancel", run_id: created.run_id, thread_id: threadId, action: "interrupt" });
    expect(reply).toMatchObject({ accepted: true, disposition: "stored" });
    const events = await collectEvents(client, created.run_id);
    expect(endOf(events)).toEqual({ status: "interrupted" });
    expect(await observer.runs.get(created.run_id)).toMatchObject({ status: "interrupted", worker_id: host });
  });

  it("a multitask interrupt reaches the thread's run on another worker, and the new run starts after it", async () => {
    const workers = started.slice(0, 2);
    const threadId = newThread("multitask-elsewhere");
    const first = await startSlowRun(threadId);
    const host = (await observer.runs.get(first))?.worker_id;
    const second: Reply = await otherWorker(host, workers).runtime.supervisor.handle({
      type: "run.create",
      run_id: `second-${randomUUID().slice(0, 8)}`,
      thread_id: threadId,
      graph_id: "echo",
      input: human("instead"),
      multitask_strategy: "interrupt",
    });
    expect(second).toMatchObject({ accepted: true, disposition: "queued" });

    expect(endOf(await collectEvents(client, first))).toEqual({ status: "interrupted" });
    expect(endOf(await collectEvents(client, second.run_id!))).toEqual({ status: "success" });
    const [firstRun, secondRun] = [await observer.runs.get(first), await observer.runs.get(second.run_id!)];
    expect(secondRun!.started_at!.getTime()).toBeGreaterThanOrEqual(firstRun!.ended_at!.getTime());
  });

  it("a forced delete stops the thread's run on another worker, then removes its checkpoints for good", async () => {
    const workers = started.slice(0, 2);
    const threadId = newThread("delete-forced");
    const runId = await startSlowRun(threadId);
    const host = (await observer.runs.get(runId))?.worker_id;
    expect(await observer.checkpointer.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } })).toBeDefined();

    const reply = await otherWorker(host, workers).runtime.supervisor.handle({ type: "thread.delete", thread_id: threadId, force: true });
    expect(reply).toMatchObject({ accepted: true });
    expect(await observer.threads.get(threadId)).toBeUndefined();
    expect(await observer.runs.get(runId)).toBeUndefined();
    // The graph had stopped before the checkpoints were removed: none comes back.
    const mongo = new MongoClient(uri);
    try {
      const count = () => mongo.db(dbName).collection("checkpoints").countDocuments({ thread_id: threadId });
      expect(await count()).toBe(0);
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 1000));
      expect(await count()).toBe(0);
    } finally {
      await mongo.close();
    }
    expect(endOf(await collectEvents(client, runId))).toEqual({ status: "interrupted" });

    // A checkpoint that a fenced graph lands late, then the same id created again: it starts empty.
    const late = { v: 4, id: "1ef00000-0000-6000-8000-000000000001", ts: new Date().toISOString(), channel_values: { step: 99 }, channel_versions: { step: 1 }, versions_seen: {} };
    await observer.checkpointer.put({ configurable: { thread_id: threadId, checkpoint_ns: "" } }, late, { source: "loop", step: 99, parents: {} });
    const again = await client.threads.create(threadId);
    expect(again).toMatchObject({ accepted: true });
    expect(await observer.checkpointer.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } })).toBeUndefined();
  });

  it("a stopping worker lets its running run finish and hands its queued and delayed runs to another", async () => {
    const stopping = await startWorker();
    const threadId = newThread("handoff");
    // Created on the stopping worker directly, so it hosts all three.
    const handle = (command: Parameters<typeof stopping.runtime.supervisor.handle>[0]) => stopping.runtime.supervisor.handle(command);
    const running = await handle({ type: "run.create", run_id: `r-${randomUUID().slice(0, 8)}`, thread_id: threadId, graph_id: "brief", input: human("finish me") });
    expect(running).toMatchObject({ accepted: true, disposition: "started" });
    const queued = await handle({ type: "run.create", run_id: `q-${randomUUID().slice(0, 8)}`, thread_id: threadId, graph_id: "echo", input: human("queued"), multitask_strategy: "enqueue" });
    expect(queued).toMatchObject({ accepted: true, disposition: "queued" });
    const delayed = await handle({ type: "run.create", run_id: `d-${randomUUID().slice(0, 8)}`, thread_id: newThread("handoff-delayed"), graph_id: "echo", input: human("delayed"), after_seconds: 2 });
    expect(delayed).toMatchObject({ accepted: true, disposition: "scheduled" });

    const stoppedAt = Date.now();
    await stopping.stop(20_000);
    const others = started.filter((worker) => worker !== stopping && worker.state === "running").map((worker) => worker.id);

    // The running run ended on its own worker, within the grace period, not interrupted.
    expect(endOf(await collectEvents(client, running.run_id!))).toEqual({ status: "success" });
    expect(await observer.runs.get(running.run_id!)).toMatchObject({ worker_id: stopping.id, attempt: 1 });
    expect(Date.now() - stoppedAt).toBeLessThan(20_000);
    // The queued and delayed runs were started by another worker, each in its own attempt 1.
    for (const reply of [queued, delayed]) {
      expect(endOf(await collectEvents(client, reply.run_id!))).toEqual({ status: "success" });
      const record = await observer.runs.get(reply.run_id!);
      expect(others).toContain(record?.worker_id);
      expect(record).toMatchObject({ status: "success", attempt: 1 });
    }
  });
});

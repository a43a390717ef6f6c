import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { MongoClient, type Collection, type Db } from "mongodb";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { probeAtomicUpdates, type ProbeDocument } from "../../../src/adapters/mongo/atomicity-probe.js";
import { runEventsCollection, runsCollection, threadTombstonesCollection, threadsCollection } from "../../../src/adapters/mongo/collections.js";
import type { JournalDocument } from "../../../src/adapters/mongo/documents.js";
import { INDEXES, ensureIndexes } from "../../../src/adapters/mongo/indexes.js";
import { MongoJournal, type MongoJournalOptions } from "../../../src/adapters/mongo/journal.js";
import { MongoRunStore } from "../../../src/adapters/mongo/run-store.js";
import { createMongoSaver } from "../../../src/adapters/mongo/saver.js";
import { openMongoStores } from "../../../src/adapters/mongo/stores.js";
import { MongoThreadStore, type MongoThreadStoreOptions } from "../../../src/adapters/mongo/thread-store.js";
import { RunbusError } from "../../../src/errors.js";
import type { Logger } from "../../../src/logger.js";
import type { JournalEntry } from "../../../src/ports.js";
import { journalContract, numbers } from "../../contract/journal.contract.js";
import { pendingRun, runStoreContract } from "../../contract/run-store.contract.js";
import { threadStoreContract } from "../../contract/thread-store.contract.js";

const uri = inject("mongodbUri");
const client = new MongoClient(uri);
const dbName = `runbus_stores_${randomUUID().replaceAll("-", "")}`;
await client.connect();
const db: Db = client.db(dbName);
const journals: MongoJournal[] = [];

beforeAll(async () => {
  await ensureIndexes(db);
});
afterEach(async () => {
  await Promise.allSettled(journals.splice(0).map((journal) => journal.close()));
});
afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

function journalOn(collection: Collection<JournalDocument>, options: MongoJournalOptions): MongoJournal {
  const journal = new MongoJournal(collection, { flushIntervalMs: null, ...options });
  journals.push(journal);
  return journal;
}

async function emptyThreadStore(options: MongoThreadStoreOptions): Promise<MongoThreadStore> {
  await threadsCollection(db).deleteMany({});
  await threadTombstonesCollection(db).deleteMany({});
  // As openMongoStores wires it.
  return new MongoThreadStore(threadsCollection(db), { tombstones: threadTombstonesCollection(db), ...options });
}

// Each case starts from empty collections; the journal cases use fresh run ids instead.
threadStoreContract("MongoThreadStore", (clock) => emptyThreadStore({ clock }));
runStoreContract("MongoRunStore", async () => {
  await runsCollection(db).deleteMany({});
  return new MongoRunStore(runsCollection(db));
});
journalContract("MongoJournal", (limits) => {
  const journal = journalOn(runEventsCollection(db), limits);
  return { journal, held: () => journal.buffered };
});

describe("atomic conditional updates", () => {
  it("hold on this server: the start-up probe passes with many contenders", async () => {
    await expect(probeAtomicUpdates(db.collection<ProbeDocument>("atomicity_probe"), { contenders: 32, rounds: 5 })).resolves.toBeUndefined();
    expect(await db.collection("atomicity_probe").countDocuments()).toBe(0);
  });

  it("renew leases and take runs over on a client of their own", async () => {
    const stores = await openMongoStores({ uri, dbName: `${dbName}_leases` });
    try {
      expect(stores.leaseClient).not.toBe(stores.client);
      const owner = { worker_id: "w1", attempt: 1 };
      await stores.runs.create(pendingRun("r-lease", "t-lease", new Date(), { status: "running", ...owner, lease_until: new Date(Date.now() - 1000) }));
      // The lease lapsed by the server's clock: another worker takes it over, and the stale owner
      // can renew nothing afterwards.
      const seen = (await stores.runs.listExpiredLeases(10)).find((run) => run.run_id === "r-lease");
      expect(seen).toBeDefined();
      expect(await stores.runs.takeOver(seen!, { worker_id: "w2", attempt: 2, leaseMs: 30_000 })).toMatchObject({ worker_id: "w2", attempt: 2 });
      expect(await stores.runs.renewLeases([{ run_id: "r-lease", attempt: 1 }], "w1", 30_000)).toEqual([]);
      expect(await stores.runs.renewLeases([{ run_id: "r-lease", attempt: 2 }], "w2", 30_000)).toEqual(["r-lease"]);
    } finally {
      await stores.db.dropDatabase();
      await stores.close();
    }
  });
});

function llmCall(runId: string, index: number): JournalEntry {
  return { kind: "llm_call", run_id: runId, thread_id: "t-1", at: new Date(), model: null, latency_ms: index, token_usage: null };
}

/** A pino logger whose warnings land in `lines`. */
function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "warn" }, stream), lines };
}

describe("ensureIndexes", () => {
  it("creates the plain indexes and can run again", async () => {
    await ensureIndexes(db);
    await ensureIndexes(db);
    for (const { collection, key } of INDEXES) {
      const keys = (await db.collection(collection).listIndexes().toArray()).map((index) => index.key as unknown);
      expect(keys).toContainEqual(key);
    }
  });
});

describe("MongoJournal", () => {
  it("keeps fewer than flushEvery entries in memory until flush()", async () => {
    const journal = journalOn(runEventsCollection(db), { flushEvery: 10 });
    const run = `run-${randomUUID()}`;
    for (let i = 0; i < 9; i++) journal.append(llmCall(run, i));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await journal.list(run)).toEqual([]);
    expect(journal.buffered).toBe(9);
    await journal.flush();
    expect(journal.buffered).toBe(0);
    expect(await journal.list(run)).toHaveLength(9);
  });

  it("writes waiting entries on its interval", async () => {
    const journal = journalOn(runEventsCollection(db), { flushEvery: 100, flushIntervalMs: 50 });
    const run = `run-${randomUUID()}`;
    journal.append(llmCall(run, 0));
    await vi.waitFor(async () => expect(await journal.list(run)).toHaveLength(1), { timeout: 5000, interval: 25 });
  });

  it("drops the oldest waiting entries past maxBuffered while a write is in flight, counting and logging them", async () => {
    const { logger, lines } = capturingLogger();
    const journal = journalOn(runEventsCollection(db), { flushEvery: 100, maxBuffered: 1000, logger });
    const run = `run-${randomUUID()}`;
    for (let i = 0; i < 100_000; i++) journal.append(llmCall(run, i));
    expect(journal.buffered).toBe(1000);
    expect(journal.dropped).toBe(99_000);
    await journal.flush();
    expect(journal.buffered).toBe(0);

    const kept = numbers(await journal.list(run));
    // The batch already in flight when the flood began, then the newest entries.
    expect(kept).toEqual([...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 900 }, (_, i) => 99_100 + i)]);
    const warnings = lines.filter((line) => String(line.msg).startsWith("journal dropp"));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(2); // one when dropping starts, one when it has caught up
    expect(warnings.at(-1)).toMatchObject({ dropped: 99_000 });
  });

  it("keeps a batch whose write failed and writes it on the next flush()", async () => {
    const real = runEventsCollection(db);
    let failures = 1;
    const flaky = new Proxy(real, {
      get(target, property, receiver) {
        if (property !== "insertMany") return Reflect.get(target, property, receiver) as unknown;
        return async (...args: Parameters<typeof real.insertMany>) => {
          if (failures-- > 0) throw new Error("connection reset by peer");
          return target.insertMany(...args);
        };
      },
    });
    const { logger, lines } = capturingLogger();
    const journal = journalOn(flaky, { flushEvery: 10, logger });
    const run = `run-${randomUUID()}`;
    for (let i = 0; i < 5; i++) journal.append(llmCall(run, i));

    await expect(journal.flush()).rejects.toThrow("connection reset by peer");
    expect(journal.buffered).toBe(5);
    expect(lines.some((line) => line.msg === "journal write failed; the entries stay buffered and are retried")).toBe(true);
    await journal.flush();
    expect(numbers(await journal.list(run))).toEqual([0, 1, 2, 3, 4]);
    expect(journal.dropped).toBe(0);
  });

  it("writes a retried batch once when the first write landed but its answer was lost", async () => {
    const real = runEventsCollection(db);
    let lost = 1;
    const lossy = new Proxy(real, {
      get(target, property, receiver) {
        if (property !== "insertMany") return Reflect.get(target, property, receiver) as unknown;
        return async (...args: Parameters<typeof real.insertMany>) => {
          const result = await target.insertMany(...args);
          if (lost-- > 0) throw new Error("socket closed before the reply");
          return result;
        };
      },
    });
    const journal = journalOn(lossy, { flushEvery: 10 });
    const run = `run-${randomUUID()}`;
    for (let i = 0; i < 5; i++) journal.append(llmCall(run, i));
    await expect(journal.flush()).rejects.toThrow("socket closed");
    journal.append(llmCall(run, 5));
    await journal.flush();
    expect(numbers(await journal.list(run))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(journal.dropped).toBe(0);
  });
});

describe("documents of an unexpected shape", () => {
  const expectBadDocument = async (promise: Promise<unknown>, ...parts: string[]) => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RunbusError);
    expect((error as RunbusError).code).toBe("bad_document");
    for (const part of parts) expect((error as RunbusError).message).toContain(part);
  };

  it("make thread reads fail with bad_document naming the collection, the id and the field", async () => {
    const threads = new MongoThreadStore(threadsCollection(db));
    const id = `bad-${randomUUID()}`;
    await db.collection("threads").insertOne({ _id: id as never, status: 42, metadata: { ok: true }, updated_at: new Date() });
    await expectBadDocument(threads.get(id), `threads document ${id} is malformed`, "status", "created_at");
    await expectBadDocument(threads.list({ metadata: {} }), `threads document ${id} is malformed`);
    await expectBadDocument(threads.update(id, { display_name: "x" }), `threads document ${id} is malformed`);
    await threads.delete(id);
  });

  it("make run reads fail with bad_document naming the collection, the id and the field", async () => {
    const runs = new MongoRunStore(runsCollection(db));
    const thread = `t-${randomUUID()}`;
    await db.collection("runs").insertOne({ _id: "bad-run-1" as never, thread_id: thread, status: "pending", arrival: 1 });
    await expectBadDocument(runs.get("bad-run-1"), "runs document bad-run-1 is malformed", "graph_id", "created_at");
    await expectBadDocument(runs.listByThread(thread), "runs document bad-run-1 is malformed");
    await expectBadDocument(runs.listPending(thread), "runs document bad-run-1 is malformed");

    const { arrival: _arrival, ...valid } = { ...(await documentOf(pendingRun("bad-run-2", thread, new Date()))), arrival: 2 };
    await db.collection("runs").insertOne({ ...valid, _id: "bad-run-2" as never, request: "{not json" });
    await expectBadDocument(runs.get("bad-run-2"), "runs document bad-run-2 is malformed", "request", "not valid JSON");
    await db.collection("runs").updateOne({ _id: "bad-run-2" as never }, { $set: { request: JSON.stringify({ type: "run.create" }) } });
    await expectBadDocument(runs.get("bad-run-2"), "runs document bad-run-2 is malformed", "request.thread_id");
    await runs.deleteByThread(thread);
  });

  it("read a run written before not_before existed as not delayed", async () => {
    const runs = new MongoRunStore(runsCollection(db));
    const run = pendingRun(`old-${randomUUID()}`, `t-${randomUUID()}`, new Date());
    await runs.create(run);
    await db.collection("runs").updateOne({ _id: run.run_id as never }, { $unset: { not_before: "" } });
    expect(await runs.get(run.run_id)).toEqual({ ...run, not_before: null });
  });

  it("make journal reads fail with bad_document", async () => {
    const journal = journalOn(runEventsCollection(db), {});
    const run = `run-${randomUUID()}`;
    const { insertedId } = await db.collection("run_events").insertOne({ run_id: run, kind: "llm_call", at: "yesterday", seq: 1 });
    await expectBadDocument(journal.list(run), `run_events document ${insertedId.toHexString()} is malformed`, "at");
  });
});

/** What MongoRunStore stores for `run`, read back raw. */
async function documentOf(run: ReturnType<typeof pendingRun>): Promise<Record<string, unknown>> {
  const scratch = client.db(`${dbName}_scratch`);
  await new MongoRunStore(runsCollection(scratch)).create(run);
  const document = await scratch.collection("runs").findOne({ _id: run.run_id as never });
  await scratch.dropDatabase();
  return document as Record<string, unknown>;
}

describe("createMongoSaver", () => {
  it("uses the configured collection names", async () => {
    const saver = await createMongoSaver(client, { dbName, checkpointCollectionName: "cp", checkpointWritesCollectionName: "cp_writes" });
    const thread_id = `t-${randomUUID()}`;
    const config = await saver.put({ configurable: { thread_id, checkpoint_ns: "" } }, { ...emptyCheckpoint(), id: uuid6(-1) }, { source: "input", step: -1, parents: {} });
    await saver.putWrites(config, [["messages", "hi"]], "task-1");
    expect(await db.collection("cp").countDocuments({ thread_id })).toBe(1);
    expect(await db.collection("cp_writes").countDocuments({ thread_id })).toBe(1);
    expect(await db.collection("checkpoints").countDocuments({ thread_id })).toBe(0);
  });

  it("throws when the saver's indexes cannot be created", async () => {
    await db.collection("cp_conflict").createIndex({ other: 1 }, { name: "thread_ns_checkpoint_idx" });
    const error = await createMongoSaver(client, { dbName, checkpointCollectionName: "cp_conflict" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as Error).message).toContain(`MongoDBSaver setup failed on database ${dbName}`);
  });
});

describe("openMongoStores", () => {
  it("fails with mongodb_unreachable when no server answers", async () => {
    const error = await openMongoStores({
      uri: "mongodb://user:s3cret@127.0.0.1:1/",
      dbName: "nowhere",
      clientOptions: { serverSelectionTimeoutMS: 300 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunbusError);
    expect((error as RunbusError).code).toBe("mongodb_unreachable");
    expect((error as RunbusError).message).not.toContain("s3cret");
  });

  it("finds threads, runs, journal entries and checkpoints again after a restart", async () => {
    const restartDb = `runbus_restart_${randomUUID().replaceAll("-", "")}`;
    const thread = `t-${randomUUID()}`;
    const owner = { worker_id: "w-1", attempt: 1 };
    const run = pendingRun(`r-${randomUUID()}`, thread, new Date(), owner);
    const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { messages: ["hello"] }, channel_versions: { messages: 1 } };

    const first = await openMongoStores({ uri, dbName: restartDb });
    const { thread: created } = await first.threads.create(thread, { owner: "ann" });
    await first.runs.create(run);
    expect(await first.threads.claim(thread, run.run_id, owner)).toBe(true);
    expect(await first.runs.update(run.run_id, owner, { status: "running" })).toBe(true);
    first.journal.append(llmCall(run.run_id, 42)); // left for close() to write
    await first.checkpointer.put({ configurable: { thread_id: thread, checkpoint_ns: "" } }, checkpoint, { source: "input", step: -1, parents: {} });
    await first.close();
    await first.close(); // idempotent

    const second = await openMongoStores({ uri, dbName: restartDb });
    try {
      expect(await second.threads.get(thread)).toEqual({ ...created, status: "busy", active_run_id: run.run_id, updated_at: expect.any(Date) });
      expect(await second.threads.list({ metadata: { owner: "ann" } })).toHaveLength(1);
      expect(await second.threads.claim(thread, "someone-else", owner)).toBe(false);
      expect(await second.runs.get(run.run_id)).toEqual({ ...run, status: "running" });
      expect(numbers(await second.journal.list(run.run_id))).toEqual([42]);
      const tuple = await second.checkpointer.getTuple({ configurable: { thread_id: thread, checkpoint_ns: "" } });
      expect(tuple?.checkpoint.id).toBe(checkpoint.id);
      expect(tuple?.checkpoint.channel_values).toEqual({ messages: ["hello"] });
    } finally {
      await second.db.dropDatabase();
      await second.close();
    }
  });
});

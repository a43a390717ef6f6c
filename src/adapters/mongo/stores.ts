import type { MongoDBSaver } from "@langchain/langgraph-checkpoint-mongodb";
import { MongoClient, type Db, type MongoClientOptions } from "mongodb";
import { RunbusError, messageOf } from "../../errors.js";
import { redactUri, type Logger } from "../../logger.js";
import { systemClock, type Clock } from "../../ports.js";
import { probeAtomicUpdates, type ProbeDocument } from "./atomicity-probe.js";
import { runEventsCollection, runsCollection, threadTombstonesCollection, threadsCollection } from "./collections.js";
import { ensureIndexes } from "./indexes.js";
import { MongoJournal, type MongoJournalOptions } from "./journal.js";
import { MongoRunStore } from "./run-store.js";
import { createMongoSaver } from "./saver.js";
import { MongoThreadStore } from "./thread-store.js";

/** Where the start-up probe races its updates; each round's document is deleted after it. */
const ATOMICITY_PROBE = "runbus_atomicity_probe";

export interface OpenMongoStoresOptions {
  uri: string;
  dbName: string;
  clientOptions?: MongoClientOptions;
  checkpointCollectionName?: string;
  checkpointWritesCollectionName?: string;
  journal?: Omit<MongoJournalOptions, "logger">;
  /** Told of each command the clients run: its name, duration and outcome (metrics). */
  onCommand?: (command: string, seconds: number, ok: boolean) => void;
  /** Race a few conditional updates at start and refuse a server that does not apply them atomically (default true). */
  probeAtomicity?: boolean;
  clock?: Clock;
  logger?: Logger;
}

export interface MongoStores {
  client: MongoClient;
  /** A client of its own for lease renewals and takeovers, so they never queue behind checkpoint traffic. */
  leaseClient: MongoClient;
  db: Db;
  threads: MongoThreadStore;
  runs: MongoRunStore;
  journal: MongoJournal;
  checkpointer: MongoDBSaver;
  /** Resolves when the server answers a ping (readiness). */
  ping(): Promise<void>;
  /** Writes the journal's buffered entries, then closes the client. */
  close(): Promise<void>;
}

/** Leases need few connections, and must never wait for one behind a burst of checkpoint writes. */
const LEASE_POOL = { maxPoolSize: 4, minPoolSize: 1 } as const;

/**
 * Connects, checks that the server's conditional updates are atomic, creates the indexes, and
 * returns every MongoDB-backed store: leases on a client of their own, the rest on one client.
 */
export async function openMongoStores(options: OpenMongoStoresOptions): Promise<MongoStores> {
  const monitor = options.onCommand ? { monitorCommands: true } : {};
  const client = new MongoClient(options.uri, { ...options.clientOptions, ...monitor });
  const leaseClient = new MongoClient(options.uri, { ...options.clientOptions, ...LEASE_POOL, ...monitor });
  const onCommand = options.onCommand;
  if (onCommand) {
    for (const watched of [client, leaseClient]) {
      watched.on("commandSucceeded", (event) => onCommand(event.commandName, event.duration / 1000, true));
      watched.on("commandFailed", (event) => onCommand(event.commandName, event.duration / 1000, false));
    }
  }
  const closeBoth = () => Promise.allSettled([client.close(), leaseClient.close()]);
  try {
    await Promise.all([client.connect(), leaseClient.connect()]);
  } catch (error) {
    await closeBoth();
    throw new RunbusError("mongodb_unreachable", `No MongoDB server answered at ${redactUri(options.uri)}: ${messageOf(error)}`, {
      retryable: true,
      cause: error,
    });
  }
  try {
    const db = client.db(options.dbName);
    if (options.probeAtomicity ?? true) {
      await probeAtomicUpdates(db.collection<ProbeDocument>(ATOMICITY_PROBE), { server: redactUri(options.uri) });
    }
    await ensureIndexes(db);
    const checkpointer = await createMongoSaver(client, {
      dbName: options.dbName,
      ...(options.checkpointCollectionName === undefined ? {} : { checkpointCollectionName: options.checkpointCollectionName }),
      ...(options.checkpointWritesCollectionName === undefined ? {} : { checkpointWritesCollectionName: options.checkpointWritesCollectionName }),
    });
    const journal = new MongoJournal(runEventsCollection(db), { ...options.journal, ...(options.logger ? { logger: options.logger } : {}) });
    let closing: Promise<void> | undefined;
    return {
      client,
      leaseClient,
      db,
      threads: new MongoThreadStore(threadsCollection(db), { clock: options.clock ?? systemClock, tombstones: threadTombstonesCollection(db) }),
      runs: new MongoRunStore(runsCollection(db), undefined, runsCollection(leaseClient.db(options.dbName))),
      journal,
      checkpointer,
      ping: async () => {
        await db.command({ ping: 1 });
      },
      close: () =>
        (closing ??= (async () => {
          try {
            await journal.close();
          } catch (error) {
            options.logger?.error({ err: error, unwritten: journal.buffered }, "journal entries lost at close: the last write failed");
          } finally {
            await closeBoth();
          }
        })()),
    };
  } catch (error) {
    await closeBoth();
    throw error;
  }
}

import type { MongoDBSaver } from "@langchain/langgraph-checkpoint-mongodb";
import { MongoClient, type Db, type MongoClientOptions } from "mongodb";
import { RunbusError, messageOf } from "../../errors.js";
import { redactUri, type Logger } from "../../logger.js";
import { systemClock, type Clock } from "../../ports.js";
import { runEventsCollection, runTakeoversCollection, runsCollection, threadClaimsCollection, threadsCollection } from "./collections.js";
import { ensureIndexes } from "./indexes.js";
import { MongoJournal, type MongoJournalOptions } from "./journal.js";
import { MongoRunStore } from "./run-store.js";
import { createMongoSaver } from "./saver.js";
import { updatesNeedClaimTokens } from "./thread-claims.js";
import { MongoThreadStore } from "./thread-store.js";

export interface OpenMongoStoresOptions {
  uri: string;
  dbName: string;
  clientOptions?: MongoClientOptions;
  checkpointCollectionName?: string;
  checkpointWritesCollectionName?: string;
  journal?: Omit<MongoJournalOptions, "logger">;
  /** Arbitrate thread claims through `thread_claims` (see thread-claims.ts). Default: only on FerretDB. */
  claimTokens?: boolean;
  clock?: Clock;
  logger?: Logger;
}

export interface MongoStores {
  client: MongoClient;
  db: Db;
  threads: MongoThreadStore;
  runs: MongoRunStore;
  journal: MongoJournal;
  checkpointer: MongoDBSaver;
  /** Writes the journal's buffered entries, then closes the client. */
  close(): Promise<void>;
}

/** Connects, creates the indexes, and returns every MongoDB-backed store on one client. */
export async function openMongoStores(options: OpenMongoStoresOptions): Promise<MongoStores> {
  const client = new MongoClient(options.uri, options.clientOptions);
  try {
    await client.connect();
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new RunbusError("mongodb_unreachable", `No MongoDB server answered at ${redactUri(options.uri)}: ${messageOf(error)}`, {
      retryable: true,
      cause: error,
    });
  }
  try {
    const db = client.db(options.dbName);
    await ensureIndexes(db);
    const checkpointer = await createMongoSaver(client, {
      dbName: options.dbName,
      ...(options.checkpointCollectionName === undefined ? {} : { checkpointCollectionName: options.checkpointCollectionName }),
      ...(options.checkpointWritesCollectionName === undefined ? {} : { checkpointWritesCollectionName: options.checkpointWritesCollectionName }),
    });
    const claimTokens = options.claimTokens ?? (await updatesNeedClaimTokens(db));
    if (claimTokens) options.logger?.info("thread claims take a token in thread_claims first: this server's updates are not atomic");
    const journal = new MongoJournal(runEventsCollection(db), { ...options.journal, ...(options.logger ? { logger: options.logger } : {}) });
    let closing: Promise<void> | undefined;
    return {
      client,
      db,
      threads: new MongoThreadStore(threadsCollection(db), {
        clock: options.clock ?? systemClock,
        ...(claimTokens ? { claims: threadClaimsCollection(db) } : {}),
      }),
      runs: new MongoRunStore(runsCollection(db), undefined, claimTokens ? runTakeoversCollection(db) : undefined),
      journal,
      checkpointer,
      close: () =>
        (closing ??= (async () => {
          try {
            await journal.close();
          } catch (error) {
            options.logger?.error({ err: error, unwritten: journal.buffered }, "journal entries lost at close: the last write failed");
          } finally {
            await client.close();
          }
        })()),
    };
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
}

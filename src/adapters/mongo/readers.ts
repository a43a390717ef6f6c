import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { MongoClient, type MongoClientOptions } from "mongodb";
import { RunbusError, messageOf } from "../../errors.js";
import { redactUri } from "../../logger.js";
import { runsCollection, threadsCollection } from "./collections.js";
import { MongoRunStore } from "./run-store.js";
import { createMongoSaver } from "./saver.js";
import { MongoThreadStore } from "./thread-store.js";

export interface MongoReaders {
  threads: MongoThreadStore;
  runs: MongoRunStore;
  /** The workers' checkpointer, for reading state through the graphs. */
  checkpointer: BaseCheckpointSaver;
  /** Resolves when the server answers a ping (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * What a reader of the workers' database needs (the gateway): threads, runs and checkpoints on
 * one client. It writes no documents: the workers own them all.
 */
export async function openMongoReaders(options: { uri: string; dbName: string; clientOptions?: MongoClientOptions }): Promise<MongoReaders> {
  const client = new MongoClient(options.uri, options.clientOptions);
  try {
    await client.connect();
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new RunbusError("mongodb_unreachable", `No MongoDB server answered at ${redactUri(options.uri)}: ${messageOf(error)}`, { retryable: true, cause: error });
  }
  const db = client.db(options.dbName);
  try {
    return {
      threads: new MongoThreadStore(threadsCollection(db)),
      runs: new MongoRunStore(runsCollection(db)),
      checkpointer: await createMongoSaver(client, { dbName: options.dbName }),
      ping: async () => {
        await db.command({ ping: 1 });
      },
      close: () => client.close(),
    };
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
}

import type { MongoClient } from "mongodb";
import { messageOf } from "../../errors.js";
import { RetryingMongoDBSaver, type RetryPolicy } from "./retrying-saver.js";

export interface MongoSaverOptions {
  dbName: string;
  checkpointCollectionName?: string;
  checkpointWritesCollectionName?: string;
  /** How long checkpoint reads and writes retry while the server is unreachable. */
  retry?: RetryPolicy;
}

/** LangGraph's MongoDB checkpointer on `client`, with its indexes created; throws if they cannot be. */
export async function createMongoSaver(client: MongoClient, options: MongoSaverOptions): Promise<RetryingMongoDBSaver> {
  const saver = new RetryingMongoDBSaver({
    client,
    dbName: options.dbName,
    ...(options.checkpointCollectionName === undefined ? {} : { checkpointCollectionName: options.checkpointCollectionName }),
    ...(options.checkpointWritesCollectionName === undefined ? {} : { checkpointWritesCollectionName: options.checkpointWritesCollectionName }),
  }, options.retry);
  const errors = await saver.setup();
  if (errors.length > 0) {
    throw new AggregateError(errors, `MongoDBSaver setup failed on database ${options.dbName}: ${errors.map(messageOf).join("; ")}`);
  }
  return saver;
}

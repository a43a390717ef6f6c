import { MongoDBSaver } from "@langchain/langgraph-checkpoint-mongodb";
import type { MongoClient } from "mongodb";
import { messageOf } from "../../errors.js";

export interface MongoSaverOptions {
  dbName: string;
  checkpointCollectionName?: string;
  checkpointWritesCollectionName?: string;
}

/** LangGraph's MongoDB checkpointer on `client`, with its indexes created; throws if they cannot be. */
export async function createMongoSaver(client: MongoClient, options: MongoSaverOptions): Promise<MongoDBSaver> {
  const saver = new MongoDBSaver({
    client,
    dbName: options.dbName,
    ...(options.checkpointCollectionName === undefined ? {} : { checkpointCollectionName: options.checkpointCollectionName }),
    ...(options.checkpointWritesCollectionName === undefined ? {} : { checkpointWritesCollectionName: options.checkpointWritesCollectionName }),
  });
  const errors = await saver.setup();
  if (errors.length > 0) {
    throw new AggregateError(errors, `MongoDBSaver setup failed on database ${options.dbName}: ${errors.map(messageOf).join("; ")}`);
  }
  return saver;
}

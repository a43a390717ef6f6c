/**
 * The in-process baselines: the same graphs driven by `graph.stream` in this process, with
 * LangGraph's MongoDBSaver on the same server the worker uses, on a database of their own.
 */
import { MongoDBSaver } from "@langchain/langgraph-checkpoint-mongodb";
import { MongoClient, type Db } from "mongodb";
import { Reaper } from "./reaper.js";

export interface BaselineStore {
  saver: MongoDBSaver;
  db: Db;
  reaper: Reaper;
  close(): Promise<void>;
}

export async function openBaselineStore(uri: string, dbName: string, options: { backgroundReaper?: boolean } = {}): Promise<BaselineStore> {
  const client = new MongoClient(uri);
  await client.connect();
  const saver = new MongoDBSaver({ client, dbName });
  await saver.setup();
  const db = client.db(dbName);
  const reaper = new Reaper(db);
  if (options.backgroundReaper !== false) reaper.start();
  return {
    saver,
    db,
    reaper,
    close: async () => {
      await reaper.stop();
      await client.db(dbName).dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}

export function humanInput(text = "hello"): { messages: Array<{ role: string; content: string }> } {
  return { messages: [{ role: "user", content: text }] };
}

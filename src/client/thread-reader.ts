import { MongoClient } from "mongodb";
import { mongoClientOptions } from "../adapters/mongo/client-options.js";
import { threadsCollection } from "../adapters/mongo/collections.js";
import { MongoThreadStore } from "../adapters/mongo/thread-store.js";
import type { ThreadQuery, ThreadRecord } from "../ports.js";

/**
 * Reads threads where the workers keep them: MongoDB. Reading needs no coordination with the
 * thread-store actor, which alone writes them.
 */
export class ThreadReader {
  private client: MongoClient | null = null;
  private store: MongoThreadStore | null = null;

  constructor(private readonly options: { uri: string; dbName?: string; tlsCAFile?: string }) {}

  async get(threadId: string): Promise<ThreadRecord | undefined> {
    return (await this.open()).get(threadId);
  }

  async list(query: ThreadQuery = {}): Promise<ThreadRecord[]> {
    return (await this.open()).list(query);
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = null;
    this.store = null;
  }

  private async open(): Promise<MongoThreadStore> {
    if (!this.store) {
      this.client = new MongoClient(this.options.uri, mongoClientOptions(this.options));
      await this.client.connect();
      this.store = new MongoThreadStore(threadsCollection(this.client.db(this.options.dbName ?? "runbus")));
    }
    return this.store;
  }
}

import { randomUUID } from "node:crypto";
import { validate } from "@langchain/langgraph-checkpoint-validation";
import { MongoDBSaver } from "@langchain/langgraph-checkpoint-mongodb";
import { MongoClient } from "mongodb";
import { inject } from "vitest";

// LangGraph's own conformance suite for checkpoint savers, run against MongoDBSaver on the
// MongoDB-compatible test server. The name is the saver's package so the suite applies the
// skips it documents for MongoDBSaver.
let client: MongoClient;

validate<MongoDBSaver>({
  checkpointerName: "@langchain/langgraph-checkpoint-mongodb",
  beforeAllTimeout: 60_000,
  async beforeAll() {
    client = new MongoClient(inject("mongodbUri"));
    await client.connect();
  },
  async afterAll() {
    await client.close();
  },
  async createCheckpointer() {
    // A fresh database per saver keeps the list tests isolated from each other.
    const saver = new MongoDBSaver({ client, dbName: `runbus_validation_${randomUUID().replaceAll("-", "")}` });
    await saver.setup();
    return saver;
  },
  async destroyCheckpointer(saver) {
    // dbName is not public on the saver; drop through the collection's namespace.
    const dbName = (saver as unknown as { db: { databaseName: string } }).db.databaseName;
    await client.db(dbName).dropDatabase();
  },
});

import { randomUUID } from "node:crypto";
import { validate } from "@langchain/langgraph-checkpoint-validation";
import { MongoDBSaver } from "@langchain/langgraph-checkpoint-mongodb";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { MongoClient } from "mongodb";
import { describe, inject } from "vitest";
import { createMongoSaver } from "../../../src/adapters/mongo/saver.js";

// LangGraph's own conformance suite for checkpoint savers, on the MongoDB-compatible test server:
// first against the saver runbus runs graphs with (RetryingMongoDBSaver, made by createMongoSaver as
// openMongoStores makes it), then against the plain MongoDBSaver it extends, so a failure of the
// first alone points at runbus's wrapper and a failure of both at the saver or the server. The
// name is the saver's package so the suite applies the skips it documents for MongoDBSaver.
let client: MongoClient;

/** Each saver gets a fresh database, which keeps the list tests isolated from each other. */
const databases = new Map<BaseCheckpointSaver, string>();
const freshDbName = () => `runbus_validation_${randomUUID().replaceAll("-", "")}`;

function validateSaver(create: (dbName: string) => Promise<BaseCheckpointSaver>): void {
  let announced = false;
  validate({
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
      const dbName = freshDbName();
      const saver = await create(dbName);
      databases.set(saver, dbName);
      // The CI log names the class the suite really ran against.
      if (!announced) console.info(`[checkpoint-validation] LangGraph's saver conformance suite against ${saver.constructor.name}`);
      announced = true;
      return saver;
    },
    async destroyCheckpointer(saver) {
      const dbName = databases.get(saver);
      databases.delete(saver);
      if (dbName) await client.db(dbName).dropDatabase();
    },
  });
}

describe("RetryingMongoDBSaver, as openMongoStores creates it", () => {
  validateSaver((dbName) => createMongoSaver(client, { dbName }));
});

describe("MongoDBSaver", () => {
  validateSaver(async (dbName) => {
    const saver = new MongoDBSaver({ client, dbName });
    await saver.setup();
    return saver;
  });
});

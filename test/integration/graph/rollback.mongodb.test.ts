import { randomUUID } from "node:crypto";
import { MongoDBSaver } from "@langchain/langgraph-checkpoint-mongodb";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, expect, inject } from "vitest";
import { rollbackContract } from "../../contract/rollback.contract.js";

const client = new MongoClient(inject("mongodbUri"));
const dbName = `runbus_rollback_${randomUUID().replaceAll("-", "")}`;
let saver: MongoDBSaver;

beforeAll(async () => {
  await client.connect();
  saver = new MongoDBSaver({ client, dbName });
  expect(await saver.setup()).toEqual([]);
});
afterAll(async () => {
  await client.db(dbName).dropDatabase();
  await client.close();
});

// Every case uses its own thread, so one saver on one database serves them all.
rollbackContract("MongoDBSaver", () => saver);

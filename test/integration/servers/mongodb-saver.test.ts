import { randomUUID } from "node:crypto";
import { MongoDBSaver } from "@langchain/langgraph-checkpoint-mongodb";
import { emptyCheckpoint, uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const client = new MongoClient(inject("mongodbUri"));
const dbName = `runbus_smoke_${randomUUID().replaceAll("-", "")}`;
let saver: MongoDBSaver;

beforeAll(async () => {
  await client.connect();
  saver = new MongoDBSaver({ client, dbName });
  const errors = await saver.setup();
  expect(errors).toEqual([]);
});
afterAll(async () => {
  await client.db(dbName).dropDatabase();
  await client.close();
});

function checkpointWith(values: Record<string, unknown>): Checkpoint {
  const base = emptyCheckpoint();
  const versions = Object.fromEntries(Object.keys(values).map((k) => [k, 1]));
  return { ...base, id: uuid6(-1), channel_values: values, channel_versions: versions };
}

describe("MongoDBSaver on the MongoDB-compatible server", () => {
  it("round-trips put, getTuple, list, putWrites and deleteThread", async () => {
    const thread_id = `t-${randomUUID()}`;
    const first = checkpointWith({ messages: ["hello"], count: 1 });
    const firstConfig = await saver.put(
      { configurable: { thread_id, checkpoint_ns: "" } },
      first,
      { source: "input", step: -1, parents: {} },
    );
    expect(firstConfig.configurable?.checkpoint_id).toBe(first.id);

    const second = checkpointWith({ messages: ["hello", "world"], count: 2 });
    const secondConfig = await saver.put(firstConfig, second, { source: "loop", step: 0, parents: {} });
    await saver.putWrites(secondConfig, [["messages", "pending"], ["count", 3]], "task-1");

    const latest = await saver.getTuple({ configurable: { thread_id, checkpoint_ns: "" } });
    expect(latest?.checkpoint.id).toBe(second.id);
    expect(latest?.checkpoint.channel_values).toEqual({ messages: ["hello", "world"], count: 2 });
    expect(latest?.parentConfig?.configurable?.checkpoint_id).toBe(first.id);
    expect(latest?.pendingWrites).toEqual([
      ["task-1", "messages", "pending"],
      ["task-1", "count", 3],
    ]);
    expect(latest?.metadata).toMatchObject({ source: "loop", step: 0 });

    const byId = await saver.getTuple({ configurable: { thread_id, checkpoint_ns: "", checkpoint_id: first.id } });
    expect(byId?.checkpoint.channel_values).toEqual({ messages: ["hello"], count: 1 });

    const listed = [];
    for await (const tuple of saver.list({ configurable: { thread_id } })) listed.push(tuple.checkpoint.id);
    expect(listed).toEqual([second.id, first.id]);

    await saver.deleteThread(thread_id);
    expect(await saver.getTuple({ configurable: { thread_id, checkpoint_ns: "" } })).toBeUndefined();
    expect(await client.db(dbName).collection("checkpoint_writes").countDocuments({ thread_id })).toBe(0);
  });
});

/**
 * A kafkajs producer never forgets a topic it wrote to, and once one is deleted every metadata
 * refresh fails: runbus's producer must go on sending to new topics after the janitor deleted the
 * topics of runs it served. Real broker.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BatchingProducer } from "../../../src/adapters/kafka/batching-producer.js";
import { waitForTopicLeaders } from "../../../src/adapters/kafka/topic-admin.js";
import { testKafka } from "./topic-tap.js";

const kafka = testKafka(inject("kafkaBrokers"), "runbus-test-rotation");
const admin = kafka.admin();

async function newTopic(): Promise<string> {
  const topic = `rotation.${randomUUID().slice(0, 8)}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: false });
  await waitForTopicLeaders(admin, [topic]);
  return topic;
}

const record = (text: string) => ({ key: "k", value: text });

beforeAll(async () => {
  await admin.connect();
});
afterAll(async () => {
  await admin.disconnect();
});

describe("BatchingProducer after topics it wrote to were deleted", () => {
  it("plain kafkajs fails every send to a new topic once a topic it wrote to is gone", async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { retries: 1 } });
    await producer.connect();
    try {
      const old = await newTopic();
      await producer.send({ topic: old, messages: [record("before")] });
      await admin.deleteTopics({ topics: [old] });
      const next = await newTopic();
      await expect(producer.send({ topic: next, messages: [record("after")] })).rejects.toThrow(/does not host this topic-partition|UNKNOWN_TOPIC/i);
    } finally {
      await producer.disconnect();
    }
  });

  it("runbus's producer forgets deleted topics and sends to new ones", async () => {
    const producer = new BatchingProducer(kafka);
    await producer.connect();
    try {
      const old = await newTopic();
      await producer.send(old, record("before"));
      await admin.deleteTopics({ topics: [old] });
      producer.forgetTopics([old]);
      const next = await newTopic();
      await producer.send(next, record("after"));
      expect(producer.generation).toBe(2);
    } finally {
      await producer.close();
    }
  });

  it("moves to a new kafkajs producer after writing to many topics, before any of them can be deleted", async () => {
    const producer = new BatchingProducer(kafka, { rotateAfterTopics: 3 });
    await producer.connect();
    try {
      const topics = await Promise.all(Array.from({ length: 4 }, () => newTopic()));
      for (const topic of topics) await producer.send(topic, record(topic));
      expect(producer.generation).toBe(2);
      // The topics the first producer wrote to can go now; the second one never listed them.
      await admin.deleteTopics({ topics: topics.slice(0, 3) });
      await producer.send(await newTopic(), record("after"));
    } finally {
      await producer.close();
    }
  });
});

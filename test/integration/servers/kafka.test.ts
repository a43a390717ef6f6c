import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { waitForTopicLeaders } from "../../../src/adapters/kafka/topic-admin.js";

const kafka = new Kafka({ clientId: "runbus-smoke", brokers: inject("kafkaBrokers"), logLevel: logLevel.NOTHING });
const admin = kafka.admin();

beforeAll(async () => {
  await admin.connect();
});
afterAll(async () => {
  await admin.disconnect();
});

/**
 * Creates a topic and waits until the broker serves it. Not `waitForLeaders: true`: kafkajs's wait
 * fails at once when the broker has not applied the controller's new topic yet (it answers
 * UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition"), which a busy
 * machine sees often; see waitForTopicLeaders.
 */
async function createTopic(topic: string, numPartitions: number): Promise<boolean> {
  const created = await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: false });
  await waitForTopicLeaders(admin, [topic]);
  return created;
}

describe("the Kafka broker", () => {
  it("creates, lists and deletes topics through the admin API", async () => {
    const topic = `smoke.admin.${randomUUID()}`;
    expect(await createTopic(topic, 3)).toBe(true);
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions).toHaveLength(3);

    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    // Deletion is asynchronous in KRaft; the topic leaves the listing shortly after.
    await expect.poll(async () => (await admin.listTopics()).includes(topic), { timeout: 15_000 }).toBe(false);
  });

  it("delivers a produced batch to a consumer group in order and keeps its committed offsets", async () => {
    const topic = `smoke.batch.${randomUUID()}`;
    const groupId = `smoke-group-${randomUUID()}`;
    await createTopic(topic, 2);

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const messages = Array.from({ length: 200 }, (_, i) => ({ key: `thread-${i % 5}`, value: JSON.stringify({ i }) }));
    await producer.send({ topic, messages, acks: -1 });
    await producer.disconnect();

    const received = await consumeAll(topic, groupId, 200);
    expect(received).toHaveLength(200);
    // Keyed records stay ordered per key: each thread sees its own numbers ascending.
    for (let t = 0; t < 5; t++) {
      const mine = received.filter((r) => r.key === `thread-${t}`).map((r) => r.i);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
      expect(mine).toHaveLength(40);
    }

    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = offsets[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    expect(committed).toBe(200);

    // A second consumer in the same group starts after the committed offsets: nothing is redelivered.
    const producer2 = kafka.producer();
    await producer2.connect();
    await producer2.send({ topic, messages: [{ key: "thread-0", value: JSON.stringify({ i: 200 }) }] });
    await producer2.disconnect();
    const rest = await consumeAll(topic, groupId, 1);
    expect(rest.map((r) => r.i)).toEqual([200]);

    await admin.deleteTopics({ topics: [topic] });
  });

  it("serves every topic of a burst of creations to a producer at once", async () => {
    // Many creations at once keep the broker applying the controller's records behind its
    // answers: kafkajs's `waitForLeaders: true` failed for some of such a burst in most tries here.
    const topics = Array.from({ length: 60 }, () => `smoke.burst.${randomUUID()}`);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const outcomes = await Promise.allSettled(
        topics.map(async (topic) => {
          await createTopic(topic, 4);
          await producer.send({ topic, messages: [{ key: "k", value: "v" }], acks: -1 });
        }),
      );
      expect(outcomes.filter((outcome) => outcome.status === "rejected")).toEqual([]);
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics, timeout: 30_000 });
    }
  });
});

async function consumeAll(topic: string, groupId: string, count: number): Promise<Array<{ key: string; i: number }>> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: Array<{ key: string; i: number }> = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ topic: t, partition, message }) => {
          received.push({ key: message.key!.toString(), i: (JSON.parse(message.value!.toString()) as { i: number }).i });
          await consumer.commitOffsets([{ topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
          if (received.length === count) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return received;
}

import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const kafka = new Kafka({ clientId: "runbus-smoke", brokers: inject("kafkaBrokers"), logLevel: logLevel.NOTHING });
const admin = kafka.admin();

beforeAll(async () => {
  await admin.connect();
});
afterAll(async () => {
  await admin.disconnect();
});

describe("the Kafka broker", () => {
  it("creates, lists and deletes topics through the admin API", async () => {
    const topic = `smoke.admin.${randomUUID()}`;
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).toBe(true);
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions).toHaveLength(3);

    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    // Deletion is asynchronous in KRaft; the topic leaves the listing shortly after.
    await expect.poll(async () => (await admin.listTopics()).includes(topic), { timeout: 15_000 }).toBe(false);
  });

  it("delivers a produced batch to a consumer group in order and keeps its committed offsets", async () => {
    const topic = `smoke.batch.${randomUUID()}`;
    const groupId = `smoke-group-${randomUUID()}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });

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

import type { Admin, Kafka } from "kafkajs";
import { readHeaders } from "./cloud-events.js";
import { waitForTopicLeaders } from "./topic-admin.js";

/**
 * The seq after the last event of a run on `topic`, read once on a takeover. A per-run topic has
 * one partition whose high watermark is that seq; on the shared topic, the run's partition is
 * scanned up to its high watermark for the highest `runbus_seq` of the run.
 *
 * The offsets are read through an admin client of its own, made for this read: a kafkajs client
 * keeps every topic it has fetched offsets of in the list its metadata refreshes ask for, so the
 * worker's long-lived admin would fail every later read once another worker's janitor deleted one
 * of them, and with metadata cached before the topic had its leader it answers with no partition
 * at all (a TypeError inside kafkajs). A fresh client knows only this topic, after its leaders.
 */
export async function nextSeqOnTopic(kafka: Kafka, admin: Admin, topic: string, runId: string, shared: boolean, groupId: string): Promise<number> {
  const offsets = await highWatermarks(kafka, topic);
  if (!shared) return Number(offsets[0]?.high ?? 0);

  const ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  const remaining = new Set(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => o.partition));
  if (remaining.size === 0) return 0;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  let next = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const headers = readHeaders(message.headers);
            if (headers.runbus_run_id === runId) next = Math.max(next, Number(headers.runbus_seq) + 1);
            if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) {
              remaining.delete(partition);
              if (remaining.size === 0) resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return next;
}

async function highWatermarks(kafka: Kafka, topic: string): Promise<Array<{ partition: number; high: string; low: string }>> {
  const scoped = kafka.admin();
  await scoped.connect();
  try {
    for (let tries = 1; ; tries++) {
      try {
        await waitForTopicLeaders(scoped, [topic]);
        return await scoped.fetchTopicOffsets(topic);
      } catch (error) {
        if (tries >= OFFSET_TRIES) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * tries));
      }
    }
  } finally {
    await scoped.disconnect().catch(() => undefined);
  }
}

const OFFSET_TRIES = 4;

/**
 * Reads whole topics back from the broker, up to their high watermarks as of the call, with one
 * plain kafkajs consumer (not the runbus client): what is really on the broker.
 */
import { randomUUID } from "node:crypto";
import { readHeaders } from "../../src/adapters/kafka/cloud-events.js";
import { testKafka } from "../integration/kafka/topic-tap.js";

export interface TopicRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  /** The record's timestamp (ms since the epoch). */
  timestamp: number;
}

export interface ReadResult {
  /** Every record per topic, in (partition, offset) order. */
  records: Map<string, TopicRecord[]>;
  /** Topics whose offsets could not be read (they do not exist), with the broker's answer. */
  missing: Map<string, string>;
}

/** Reads `topics` to their current ends. Fails when the records don't arrive within `timeoutMs`. */
export async function readTopics(brokers: string[], topics: readonly string[], timeoutMs: number): Promise<ReadResult> {
  const kafka = testKafka(brokers, "runbus-chaos-reader");
  const admin = kafka.admin();
  const out = new Map<string, TopicRecord[]>(topics.map((topic) => [topic, []]));
  const missing = new Map<string, string>();
  await admin.connect();
  const groupId = `runbus-chaos-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100, maxBytes: 50 * 1024 * 1024 });
  try {
    // Where each partition ends now; records appended later are not waited for.
    const remaining = new Map<string, bigint>();
    const unique = [...new Set(topics)];
    for (let i = 0; i < unique.length; i += 25) {
      await Promise.all(
        unique.slice(i, i + 25).map(async (topic) => {
          try {
            for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
              if (BigInt(high) > BigInt(low)) remaining.set(`${topic}/${partition}`, BigInt(high));
            }
          } catch (error) {
            missing.set(topic, error instanceof Error ? error.message : String(error));
          }
        }),
      );
    }
    for (const topic of missing.keys()) out.delete(topic);
    if (remaining.size === 0) return { records: out, missing };
    await consumer.connect();
    await consumer.subscribe({ topics: unique.filter((topic) => !missing.has(topic)), fromBeginning: true });
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    await consumer.run({
      partitionsConsumedConcurrently: 4,
      eachMessage: async ({ topic, partition, message }) => {
        const key = `${topic}/${partition}`;
        const end = remaining.get(key);
        if (end === undefined || BigInt(message.offset) >= end) return;
        out.get(topic)?.push({
          topic,
          partition,
          offset: Number(message.offset),
          key: message.key === null ? null : message.key.toString(),
          value: message.value === null ? null : message.value.toString(),
          headers: readHeaders(message.headers),
          timestamp: Number(message.timestamp),
        });
        if (BigInt(message.offset) + 1n >= end) {
          remaining.delete(key);
          if (remaining.size === 0) finish();
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const left = [...remaining.keys()].slice(0, 10).join(", ");
        reject(new Error(`Reading ${unique.length} topics: ${remaining.size} partitions not read to their end within ${timeoutMs} ms (${left}).`));
      }, timeoutMs);
    });
    try {
      await Promise.race([done, timedOut]);
    } finally {
      clearTimeout(timer);
    }
    for (const records of out.values()) records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    return { records: out, missing };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

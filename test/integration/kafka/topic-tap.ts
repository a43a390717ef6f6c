/**
 * Independent readers of runbus's topics for the Kafka integration tests: a plain kafkajs
 * consumer (not the runbus client) that keeps every record of a topic from offset 0, so a test
 * can check what really is on the broker.
 */
import { randomUUID } from "node:crypto";
import { Kafka, logLevel, type Admin, type Consumer } from "kafkajs";
import { readHeaders } from "../../../src/adapters/kafka/cloud-events.js";

export interface TappedRecord {
  topic: string;
  partition: number;
  offset: string;
  /** The key as UTF-8 text, or null. */
  key: string | null;
  rawKey: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

export function testKafka(brokers: string[], clientId = "runbus-test-tap"): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 200, retries: 8 } });
}

/** The record's value parsed as JSON (the tests only tap topics whose records runbus writes as JSON). */
export function jsonOf<T = unknown>(record: TappedRecord): T {
  if (record.value === null) throw new Error(`Record ${record.topic}/${record.partition}@${record.offset} has no value.`);
  return JSON.parse(record.value.toString()) as T;
}

/** Reads a topic from the beginning for as long as it is open; `records` grows as they arrive. */
export class TopicTap {
  readonly records: TappedRecord[] = [];
  /**
   * Partition and offset of every record kept. A consumer group hands records it had not
   * committed again after a rebalance (a missed heartbeat on a loaded machine is enough): the
   * broker holds each offset once, so a record read twice is kept once. A record written twice
   * has two offsets, and is kept twice.
   */
  private readonly seen = new Set<string>();

  private constructor(
    readonly topic: string,
    private readonly consumer: Consumer,
    private readonly admin: Admin,
    private readonly groupId: string,
  ) {}

  static async start(brokers: string[], topic: string): Promise<TopicTap> {
    const kafka = testKafka(brokers);
    const admin = kafka.admin();
    await admin.connect();
    const groupId = `runbus-test-tap-${randomUUID()}`;
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 });
    const tap = new TopicTap(topic, consumer, admin, groupId);
    await tap.run();
    return tap;
  }

  private async run(): Promise<void> {
    const { consumer } = this;
    await consumer.connect();
    // A group of its own with no committed offsets: fromBeginning starts it at offset 0 of every partition.
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const at = `${partition}:${message.offset}`;
        if (this.seen.has(at)) return;
        this.seen.add(at);
        this.records.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key === null ? null : message.key.toString(),
          rawKey: message.key,
          value: message.value,
          headers: readHeaders(message.headers),
          timestamp: message.timestamp,
        });
      },
    });
    await joined;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
    await this.admin.deleteGroups([this.groupId]).catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }
}

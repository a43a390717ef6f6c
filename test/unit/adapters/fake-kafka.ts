/**
 * A broker in memory behind kafkajs's producer and admin surface, as far as runbus's producer and
 * event sink use it, with batches that can be made to fail: lost (nothing written) or
 * unacknowledged (written, and still reported failed, as when a response is lost).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Admin, Kafka, Message, TopicMessages } from "kafkajs";
import type { KafkaTopicAdmin } from "../../../src/adapters/kafka/topic-admin.js";
import type { Topics } from "../../../src/adapters/kafka/topics.js";

export type BatchOutcome = "ok" | "lost" | "unacknowledged";

export class FakeBroker {
  private readonly logs = new Map<string, Message[]>();
  readonly producers: FakeProducer[] = [];
  /** Each sendBatch's fate; by default every batch lands. */
  decide: (batch: TopicMessages[]) => BatchOutcome = () => "ok";
  /** How long a sendBatch takes, so records queue behind it. */
  latencyMs = 0;

  kafka(): Kafka {
    return {
      producer: () => {
        const producer = new FakeProducer(this);
        this.producers.push(producer);
        return producer;
      },
      admin: () => this.admin(),
    } as unknown as Kafka;
  }

  admin(): Admin {
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      // One partition with a leader, for every topic asked about.
      fetchTopicMetadata: async ({ topics }: { topics: string[] }) => ({
        topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 0, replicas: [0], isr: [0] }] })),
      }),
      fetchTopicOffsets: async (topic: string) => {
        const high = String(this.records(topic).length);
        return [{ partition: 0, offset: high, high, low: "0" }];
      },
    } as unknown as Admin;
  }

  topicAdmin(topics: Topics): KafkaTopicAdmin {
    return {
      ensureRunTopic: async (runId: string) => {
        const topic = topics.run(runId);
        if (!this.logs.has(topic)) this.logs.set(topic, []);
      },
    } as unknown as KafkaTopicAdmin;
  }

  records(topic: string): Message[] {
    return [...(this.logs.get(topic) ?? [])];
  }

  append(batch: TopicMessages[]): void {
    for (const { topic, messages } of batch) {
      const log = this.logs.get(topic) ?? [];
      log.push(...messages);
      this.logs.set(topic, log);
    }
  }
}

export class FakeProducer {
  connected = false;
  disconnected = false;

  constructor(private readonly broker: FakeBroker) {}

  async connect(): Promise<void> {
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    this.disconnected = true;
  }

  async sendBatch({ topicMessages }: { topicMessages: TopicMessages[] }): Promise<void> {
    if (!this.connected) throw new Error("The producer is disconnected");
    if (this.broker.latencyMs > 0) await sleep(this.broker.latencyMs);
    const outcome = this.broker.decide(topicMessages);
    if (outcome !== "lost") this.broker.append(topicMessages);
    if (outcome !== "ok") throw Object.assign(new Error(`Batch ${outcome} (injected)`), { name: "KafkaJSNumberOfRetriesExceeded" });
  }
}

/** A record's runbus headers, as the event sink wrote them. */
export function headersOf(message: Message): Record<string, string> {
  return (message.headers ?? {}) as Record<string, string>;
}

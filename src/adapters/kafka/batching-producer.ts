import type { Kafka, Message, Producer, TopicMessages } from "kafkajs";

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * One idempotent producer shared by every sink of a worker. Records queue while a send is in
 * flight and go out together in the next batch, so concurrent runs share round trips; with one
 * batch in flight at a time, records of a partition stay in the order they were queued. A batch
 * starts on the next turn of the event loop, so records sent in one turn (a run's `end` and its
 * terminal audit record) go out in one sendBatch: one request when one broker leads both partitions,
 * so a worker that dies meanwhile has written both or neither.
 */
export class BatchingProducer {
  private readonly producer: Producer;
  private queue: Pending[] = [];
  private inFlight: Promise<void> | null = null;
  private connected = false;

  constructor(kafka: Kafka, options: { maxBatch?: number } = {}) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.maxBatch = options.maxBatch ?? 500;
  }

  private readonly maxBatch: number;

  async connect(): Promise<void> {
    if (this.connected) return;
    await this.producer.connect();
    this.connected = true;
  }

  /** Resolves once the broker acknowledged the record (acks=all). */
  send(topic: string, message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      this.inFlight ??= new Promise<void>((next) => setImmediate(next)).then(() => this.drain());
    });
  }

  /** Waits for everything queued so far, then disconnects. */
  async close(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (this.connected) await this.producer.disconnect();
    this.connected = false;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const byTopic = new Map<string, Message[]>();
      for (const item of batch) {
        const messages = byTopic.get(item.topic) ?? [];
        messages.push(item.message);
        byTopic.set(item.topic, messages);
      }
      const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
      try {
        await this.producer.sendBatch({ topicMessages, acks: -1 });
        for (const item of batch) item.resolve();
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    this.inFlight = null;
  }
}

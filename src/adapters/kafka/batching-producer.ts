import type { Kafka, Message, Producer, TopicMessages } from "kafkajs";
import { kafkaSecurityError } from "./security-errors.js";

interface Pending {
  topic: string;
  message: Message;
  chain: string | null;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface SendOptions {
  /**
   * Records of one chain (a run's events) land in the order they were sent, or not at all after
   * one of them failed: see `reopen`.
   */
  chain?: string;
}

/** Failed chains remembered at most; their owners learned of the failure long before. */
const MAX_FAILED_CHAINS = 1024;
/** Topics one kafkajs producer writes to before it is replaced (see `rotate`). */
const DEFAULT_ROTATE_AFTER_TOPICS = 256;
const DEFAULT_ROTATE_AFTER_MS = 10 * 60_000;

export interface BatchingProducerOptions {
  maxBatch?: number;
  /** Replace the kafkajs producer once it has written to this many topics. */
  rotateAfterTopics?: number;
  /** Replace the kafkajs producer once it is this old: before any topic it wrote to can be deleted. */
  rotateAfterMs?: number;
  /** Told of each batch sent: its records, how long the send took, and whether it succeeded (metrics). */
  onBatch?: (records: number, seconds: number, ok: boolean) => void;
}

/**
 * One idempotent producer shared by every sink of a worker. Records queue while a send is in
 * flight and go out together in the next batch, so concurrent runs share round trips; with one
 * batch in flight at a time, records of a partition stay in the order they were queued. A batch
 * starts on the next turn of the event loop, so records sent in one turn (a run's `end` and its
 * terminal audit record) go out in one sendBatch: one request when one broker leads both partitions,
 * so a worker that dies meanwhile has written both or neither.
 *
 * kafkajs retries a failed request itself, in order and with the same producer sequence numbers,
 * so the broker drops the copy of a batch that had landed. Once it gives up, the batch fails: its
 * chains fail with it (every record of theirs queued or sent later is rejected unsent until
 * `reopen`), so no record lands after one that may not have; and the kafkajs producer is
 * replaced, since its sequence numbers may no longer match the broker's (a batch that landed
 * unacknowledged would make the next one out of order, or a duplicate the broker drops).
 *
 * A kafkajs producer never forgets a topic it wrote to: every metadata refresh asks for all of
 * them, and once one is deleted (a run topic past its retention) every refresh — so every send to
 * a new topic — fails with UNKNOWN_TOPIC_OR_PARTITION. With one topic per run, the kafkajs
 * producer is therefore replaced between batches after `rotateAfterTopics` topics or
 * `rotateAfterMs`, whichever comes first, and at once when this worker's janitor deleted a topic
 * it wrote to (`forgetTopics`); a janitor deletes no topic sooner than `rotateAfterMs` after its
 * writers could last have written to it.
 */
export class BatchingProducer {
  private producer: Producer;
  private queue: Pending[] = [];
  private inFlight: Promise<void> | null = null;
  private connected = false;
  /** The producer replaced after a failure connects before its first batch. */
  private mustConnect = false;
  private readonly failedChains = new Map<string, unknown>();
  private readonly maxBatch: number;
  private readonly rotateAfterTopics: number;
  private readonly rotateAfterMs: number;
  /** The topics the current kafkajs producer has written to, and when it was made. */
  private targeted = new Set<string>();
  private bornAt = Date.now();
  private mustRotate = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: BatchingProducerOptions = {},
  ) {
    this.producer = this.createProducer();
    this.maxBatch = options.maxBatch ?? 500;
    this.rotateAfterTopics = options.rotateAfterTopics ?? DEFAULT_ROTATE_AFTER_TOPICS;
    this.rotateAfterMs = options.rotateAfterMs ?? DEFAULT_ROTATE_AFTER_MS;
  }

  /** Topics were deleted: a producer that wrote to one of them must not send again (see the class comment). */
  forgetTopics(topics: readonly string[]): void {
    if (topics.some((topic) => this.targeted.has(topic))) this.mustRotate = true;
  }

  /** How many kafkajs producers this one has been through (for tests and metrics). */
  get generation(): number {
    return this.generations;
  }
  private generations = 1;

  async connect(): Promise<void> {
    if (this.connected) return;
    await this.producer.connect();
    this.connected = true;
  }

  /** Resolves once the broker acknowledged the record (acks=all). */
  send(topic: string, message: Message, options: SendOptions = {}): Promise<void> {
    const chain = options.chain ?? null;
    if (chain !== null && this.failedChains.has(chain)) return Promise.reject(this.failedChains.get(chain));
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, message, chain, resolve, reject });
      this.inFlight ??= new Promise<void>((next) => setImmediate(next)).then(() => this.drain());
    });
  }

  /** Lets a failed chain send again: its owner has found where its records stand and goes on from there. */
  reopen(chain: string): void {
    this.failedChains.delete(chain);
  }

  /** Waits for everything queued so far, then disconnects. */
  async close(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (this.connected) await this.producer.disconnect();
    this.connected = false;
  }

  private createProducer(): Producer {
    return this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
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
        await this.rotateIfDue(byTopic.keys());
        if (this.mustConnect) {
          await this.producer.connect();
          this.mustConnect = false;
        }
        const sentAt = performance.now();
        await this.producer.sendBatch({ topicMessages, acks: -1 });
        this.options.onBatch?.(batch.length, (performance.now() - sentAt) / 1000, true);
        for (const item of batch) item.resolve();
      } catch (error) {
        this.options.onBatch?.(batch.length, 0, false);
        this.fail(batch, kafkaSecurityError(error, `Write on topics ${[...byTopic.keys()].join(", ")}`) ?? error);
        await this.replaceProducer();
      }
    }
    this.inFlight = null;
  }

  /** Rejects a failed batch and, unsent, every queued record of its chains. */
  private fail(batch: Pending[], error: unknown): void {
    const failed = new Set<string>();
    for (const item of batch) if (item.chain !== null) failed.add(item.chain);
    for (const chain of failed) {
      this.failedChains.delete(chain);
      this.failedChains.set(chain, error);
    }
    while (this.failedChains.size > MAX_FAILED_CHAINS) this.failedChains.delete(this.failedChains.keys().next().value as string);
    const behind = this.queue.filter((item) => item.chain !== null && failed.has(item.chain));
    this.queue = this.queue.filter((item) => item.chain === null || !failed.has(item.chain));
    for (const item of [...batch, ...behind]) item.reject(error);
  }

  /** Replaces the kafkajs producer before a batch to `topics` when it is due (see the class comment). */
  private async rotateIfDue(topics: Iterable<string>): Promise<void> {
    const fresh = [...topics].filter((topic) => !this.targeted.has(topic));
    const due =
      this.mustRotate ||
      (this.targeted.size > 0 && (this.targeted.size + fresh.length > this.rotateAfterTopics || Date.now() - this.bornAt >= this.rotateAfterMs));
    if (due) await this.replaceProducer();
    for (const topic of fresh) this.targeted.add(topic);
  }

  private async replaceProducer(): Promise<void> {
    this.mustRotate = false;
    this.targeted = new Set();
    this.bornAt = Date.now();
    if (!this.connected) return;
    const stale = this.producer;
    this.producer = this.createProducer();
    this.generations++;
    this.mustConnect = true;
    await stale.disconnect().catch(() => undefined);
  }
}

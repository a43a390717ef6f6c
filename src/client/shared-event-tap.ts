import type { Admin, Kafka } from "kafkajs";
import { commitGroupStart } from "../adapters/kafka/group-start.js";
import { ResilientConsumer } from "../adapters/kafka/resilient-consumer.js";
import type { Topics } from "../adapters/kafka/topics.js";
import { messageOf } from "../errors.js";
import type { Logger } from "../logger.js";
import { streamedEvent, type StreamedEvent } from "./run-reader.js";
import { EventQueue, inSeqOrder } from "./seq-order.js";

/** One run's events as the tap hands them over; close it when done reading. */
export interface TapWatch {
  /** Resolves when the first record of the run arrives: the run was admitted. */
  readonly admitted: Promise<void>;
  events(options: { gapTimeoutMs: number; signal?: AbortSignal }): AsyncGenerator<StreamedEvent>;
  close(): void;
}

/**
 * One long-lived reader of the shared run-events topic (RUNBUS_EVENT_TOPIC_MODE=shared) that hands
 * each record to whoever watches its run. A watch registered before its run's command is sent
 * sees the run from its first record, with no reader of its own to join a group and no scan from
 * the topic's start: what a server streaming many runs needs. Joins of runs already under way
 * read the topic themselves (readRun). The tap reads every run's records, so it suits a gateway,
 * which streams many of them, not a client that streams one.
 */
export class SharedEventTap {
  private readonly watches = new Map<string, Set<{ queue: EventQueue; admit: () => void }>>();
  private readonly group: string;
  private consumer: ResilientConsumer | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly topics: Topics,
    private readonly logger: Logger,
  ) {
    this.group = topics.readerGroup("tap");
  }

  /** Starts reading at the topic's current end; resolves once the reader has joined. */
  async start(): Promise<void> {
    const topic = this.topics.sharedRunEvents;
    const ends = await this.admin.fetchTopicOffsets(topic);
    // Committed before the join, so the first fetch starts exactly there: no record in between is lost.
    await commitGroupStart(this.admin, this.group, topic, ends.map(({ partition, offset }) => ({ partition, offset })));
    const consumer = new ResilientConsumer({
      what: topic,
      group: this.group,
      logger: this.logger,
      create: () => this.kafka.consumer({ groupId: this.group, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 50 }),
      setup: async (kafkaConsumer) => {
        await kafkaConsumer.subscribe({ topic, fromBeginning: false });
        await kafkaConsumer.run({
          eachMessage: async ({ message }) => {
            const event = streamedEvent(null, message);
            if (!event) return;
            for (const watch of this.watches.get(event.run_id) ?? []) {
              watch.admit();
              watch.queue.push(event);
            }
          },
        });
      },
    });
    this.consumer = consumer;
    await consumer.start();
  }

  /** Watches `runId` from its first record on; register before the run's command is sent. */
  watch(runId: string): TapWatch {
    const queue = new EventQueue();
    let admit!: () => void;
    const admitted = new Promise<void>((resolve) => (admit = resolve));
    const entry = { queue, admit };
    const set = this.watches.get(runId) ?? new Set();
    set.add(entry);
    this.watches.set(runId, set);
    const close = () => {
      set.delete(entry);
      if (set.size === 0 && this.watches.get(runId) === set) this.watches.delete(runId);
    };
    return {
      admitted,
      close,
      events: async function* ({ gapTimeoutMs, signal }) {
        const onAbort = () => queue.notify();
        signal?.addEventListener("abort", onAbort);
        try {
          yield* inSeqOrder(queue, { runId, fromSeq: 0, gapTimeoutMs, signal });
        } finally {
          signal?.removeEventListener("abort", onAbort);
          close();
        }
      },
    };
  }

  /** How many runs are watched now. */
  get watched(): number {
    return this.watches.size;
  }

  async stop(): Promise<void> {
    await this.consumer?.stop().catch((error: unknown) => this.logger.debug({ err: messageOf(error) }, "tap consumer stop failed"));
    await this.admin.deleteGroups([this.group]).catch(() => undefined);
  }
}

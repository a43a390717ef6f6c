import type { Consumer } from "kafkajs";
import { messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";

export interface ResilientConsumerOptions {
  /** A new consumer (connected by this class). */
  create: () => Consumer;
  /** Subscribes and calls `run` on a connected consumer. */
  setup: (consumer: Consumer) => Promise<void>;
  /** What the consumer reads, for the log. */
  what: string;
  logger: Logger;
  /** Pause before starting a consumer again (default 1 s, doubling up to 10 s while starts fail). */
  retryMs?: number;
}

/**
 * A consumer that keeps consuming until it is stopped. kafkajs restarts a crashed consumer only
 * after a retriable error, and a broker restart can cause errors that are not (a group
 * coordinator not found while joining): that consumer stops for good, and a start waiting for
 * its group join waits forever. Here a consumer kafkajs gives up on is replaced by a new one.
 * `start` resolves once a consumer has joined its group.
 */
export class ResilientConsumer {
  private consumer: Consumer | null = null;
  private stopping = false;
  private restart: NodeJS.Timeout | null = null;

  constructor(private readonly options: ResilientConsumerOptions) {}

  async start(): Promise<void> {
    let delay = this.options.retryMs ?? 1000;
    for (;;) {
      try {
        await this.startOnce();
        return;
      } catch (error) {
        if (this.stopping) throw error;
        this.options.logger.warn({ what: this.options.what, err: messageOf(error), retryInMs: delay }, `could not start the consumer of ${this.options.what}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (this.stopping) throw error;
        delay = Math.min(10_000, delay * 2);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restart) clearTimeout(this.restart);
    await this.consumer?.disconnect();
    this.consumer = null;
  }

  private async startOnce(): Promise<void> {
    const consumer = this.options.create();
    this.consumer = consumer;
    let joined = false;
    const join = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => {
        joined = true;
        resolve();
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        // kafkajs restarts it itself.
        if (payload.restart) return;
        if (!joined) reject(payload.error);
        else this.replace(consumer, payload.error);
      });
    });
    try {
      await consumer.connect();
      await this.options.setup(consumer);
      await join;
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  private replace(crashed: Consumer, error: unknown): void {
    if (this.stopping || crashed !== this.consumer) return;
    const delay = this.options.retryMs ?? 1000;
    this.options.logger.error({ what: this.options.what, err: messageOf(error), retryInMs: delay }, `the consumer of ${this.options.what} stopped; starting a new one`);
    this.restart = setTimeout(() => {
      this.restart = null;
      this.start().catch(() => undefined);
    }, delay);
  }
}

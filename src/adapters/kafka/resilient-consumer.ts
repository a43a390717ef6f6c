import type { Consumer } from "kafkajs";
import { RunbusError, messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { kafkaSecurityError } from "./security-errors.js";

export interface ResilientConsumerOptions {
  /** A new consumer (connected by this class). */
  create: () => Consumer;
  /** Subscribes and calls `run` on a connected consumer. */
  setup: (consumer: Consumer) => Promise<void>;
  /** What the consumer reads, for the log. */
  what: string;
  /** Its consumer group, named in the error when the broker denies it. */
  group: string;
  logger: Logger;
  /** Pause before starting a consumer again (default 1 s, doubling up to 10 s while starts fail). */
  retryMs?: number;
}

/**
 * A consumer that keeps consuming until it is stopped. kafkajs restarts a crashed consumer only
 * after a retriable error, and a broker restart can cause errors that are not (a group
 * coordinator not found while joining): that consumer stops for good, and a start waiting for
 * its group join waits forever. Here a consumer kafkajs gives up on is replaced by a new one.
 * `start` resolves once a consumer has joined its group. A denied ACL or refused credentials end
 * `start` at once (kafka_not_authorized / kafka_auth_failed): no restart can mend them.
 */
export class ResilientConsumer {
  private consumer: Consumer | null = null;
  private stopping = false;
  private restart: NodeJS.Timeout | null = null;

  constructor(private readonly options: ResilientConsumerOptions) {}

  async start(): Promise<void> {
    let delay = this.options.retryMs ?? 1000;
    let noCoordinator = 0;
    for (;;) {
      try {
        await this.startOnce();
        return;
      } catch (error) {
        if (this.stopping) throw error;
        const denied = kafkaSecurityError(error, this.access);
        if (denied) throw denied;
        // The broker refuses FindCoordinator for a group the principal may not describe, and kafkajs
        // reports that as no coordinator found: also what a broker still starting says, for a while.
        noCoordinator = (error as { name?: unknown } | null)?.name === "KafkaJSGroupCoordinatorNotFound" ? noCoordinator + 1 : 0;
        if (noCoordinator >= NO_COORDINATOR_LIMIT) {
          throw new RunbusError(
            "kafka_not_authorized",
            `Kafka found no coordinator for group ${this.options.group} in ${noCoordinator} tries: the principal most likely lacks an ACL for it (${this.access}).`,
            { cause: error },
          );
        }
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

  /**
   * A consumer counts as started once it has joined its group and fetched once: a principal
   * allowed to join but not to read the topic is refused only at the first fetch, and that must
   * fail the start, not a consumer already reported running. A member without partitions fetches
   * nothing, so it has started at its join.
   */
  private async startOnce(): Promise<void> {
    const consumer = this.options.create();
    this.consumer = consumer;
    let started = false;
    let grace: NodeJS.Timeout | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      const finish = () => {
        if (started) return;
        started = true;
        clearTimeout(grace);
        resolve();
      };
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        const assigned = Object.values(payload.memberAssignment).some((partitions) => partitions.length > 0);
        if (!assigned) finish();
        // A fetch that outlasts this is slow, not refused: a refusal comes back at once.
        else grace = setTimeout(finish, FIRST_FETCH_GRACE_MS);
      });
      consumer.on(consumer.events.FETCH, finish);
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        // kafkajs restarts it itself.
        if (payload.restart) return;
        if (!started) {
          clearTimeout(grace);
          reject(payload.error);
        } else this.replace(consumer, payload.error);
      });
    });
    try {
      await consumer.connect();
      await this.options.setup(consumer);
      await ready;
    } catch (error) {
      clearTimeout(grace);
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** What consuming asks of the broker, in ACL terms. */
  private get access(): string {
    return `Read on topic ${this.options.what} and on group ${this.options.group}`;
  }

  private replace(crashed: Consumer, error: unknown): void {
    if (this.stopping || crashed !== this.consumer) return;
    const delay = this.options.retryMs ?? 1000;
    // An ACL removed while running: said plainly, and tried again, so restoring it heals the consumer.
    const denied = kafkaSecurityError(error, this.access);
    this.options.logger.error(
      { what: this.options.what, err: messageOf(denied ?? error), ...(denied ? { code: denied.code } : {}), retryInMs: delay },
      `the consumer of ${this.options.what} stopped; starting a new one`,
    );
    this.restartAfter(delay);
  }

  private restartAfter(delay: number): void {
    this.restart = setTimeout(() => {
      this.restart = null;
      this.start().catch((error: unknown) => {
        // start() gives up only when stopped, or denied: keep trying until the ACL is back.
        if (this.stopping) return;
        this.options.logger.error({ what: this.options.what, err: messageOf(error), retryInMs: 10_000 }, `the consumer of ${this.options.what} cannot start; retrying`);
        this.restartAfter(10_000);
      });
    }, delay);
  }
}

/** How long after its join a consumer's first fetch may take before it counts as started anyway. */
const FIRST_FETCH_GRACE_MS = 3000;

/** Starts in a row that find no group coordinator (about 30 s with the backoff) before that counts as a refusal. */
const NO_COORDINATOR_LIMIT = 5;

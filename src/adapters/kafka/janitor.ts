import { isRunbusError, messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { Clock, RunStore } from "../../ports.js";
import { isTerminalRunStatus } from "../../protocol/run-status.js";
import type { KafkaTopicAdmin } from "./topic-admin.js";
import type { Topics } from "./topics.js";

/**
 * Deletes the topics of runs that ended more than `retentionMs` ago (and of runs whose record is
 * gone with their thread). Until then any consumer can replay a run from offset 0.
 */
export class RunTopicJanitor {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: {
      admin: KafkaTopicAdmin;
      topics: Topics;
      runs: RunStore;
      clock: Clock;
      logger: Logger;
      /** Told of every topic deleted, so this worker's producer forgets them (BatchingProducer.forgetTopics). */
      onDeleted?: (topics: readonly string[]) => void;
    },
    private readonly options: {
      retentionMs: number;
      intervalMs?: number;
      /**
       * How long a topic whose run record is gone (its thread was deleted) is kept: the run may have
       * ended a moment ago, and its writers' producers must have moved past it (BatchingProducer's
       * `rotateAfterMs`). Default: the retention.
       */
      orphanGraceMs?: number;
    },
  ) {}

  /** Topics whose run record was missing, and since when; forgotten once deleted or found again. */
  private readonly orphans = new Map<string, number>();

  start(): void {
    const interval = this.options.intervalMs ?? Math.min(60_000, Math.max(1000, this.options.retentionMs / 2));
    this.timer = setInterval(() => void this.sweep(), interval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass; returns the topics it deleted. */
  async sweep(): Promise<string[]> {
    try {
      const expired: string[] = [];
      const now = this.deps.clock.now().getTime();
      const listed = await this.deps.admin.listRunTopics();
      for (const topic of listed) {
        const runId = this.deps.topics.runIdOf(topic)!;
        const run = await this.deps.runs.get(runId);
        if (!run) {
          const since = this.orphans.get(topic) ?? now;
          this.orphans.set(topic, since);
          if (since + (this.options.orphanGraceMs ?? this.options.retentionMs) <= now) expired.push(topic);
          continue;
        }
        this.orphans.delete(topic);
        const ended = isTerminalRunStatus(run.status) && run.ended_at ? run.ended_at.getTime() : null;
        if (ended !== null && ended + this.options.retentionMs <= now) expired.push(topic);
      }
      const present = new Set(listed);
      for (const topic of this.orphans.keys()) if (!present.has(topic)) this.orphans.delete(topic);
      await this.deps.admin.deleteTopics(expired);
      for (const topic of expired) this.orphans.delete(topic);
      if (expired.length > 0) this.deps.onDeleted?.(expired);
      if (expired.length > 0) this.deps.logger.info({ count: expired.length }, "deleted expired run topics");
      return expired;
    } catch (error) {
      // A missing ACL is an operator's to fix: said at error level, with its code.
      if (isRunbusError(error) && !error.retryable) this.deps.logger.error({ err: error.message, code: error.code }, "run topic sweep failed; will retry");
      else this.deps.logger.warn({ err: messageOf(error) }, "run topic sweep failed; will retry");
      return [];
    }
  }
}

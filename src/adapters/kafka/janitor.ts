import { messageOf } from "../../errors.js";
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
    private readonly deps: { admin: KafkaTopicAdmin; topics: Topics; runs: RunStore; clock: Clock; logger: Logger },
    private readonly options: { retentionMs: number; intervalMs?: number },
  ) {}

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
      for (const topic of await this.deps.admin.listRunTopics()) {
        const runId = this.deps.topics.runIdOf(topic)!;
        const run = await this.deps.runs.get(runId);
        const ended = run && isTerminalRunStatus(run.status) && run.ended_at ? run.ended_at.getTime() : null;
        if (!run || (ended !== null && ended + this.options.retentionMs <= now)) expired.push(topic);
      }
      await this.deps.admin.deleteTopics(expired);
      if (expired.length > 0) this.deps.logger.info({ count: expired.length }, "deleted expired run topics");
      return expired;
    } catch (error) {
      this.deps.logger.warn({ err: messageOf(error) }, "run topic sweep failed; will retry");
      return [];
    }
  }
}

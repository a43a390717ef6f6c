import { messageOf } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Clock, RunStore } from "../ports.js";
import type { RunActor } from "./run-actor.js";

/**
 * Renews the leases of the runs this worker hosts (DESIGN §7). A lease that cannot be renewed
 * belongs to another worker now: the run is fenced and stops emitting. A renewal that fails for
 * another reason (the database is down) is retried; the run fences itself once its lease lapses.
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: { runs: RunStore; clock: Clock; logger: Logger; workerId: string; hosted: () => Iterable<RunActor> },
    private readonly leaseMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.renewAll(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async renewAll(): Promise<void> {
    const until = new Date(this.deps.clock.now().getTime() + this.leaseMs);
    await Promise.all(
      [...this.deps.hosted()].map(async (run) => {
        if (run.isFinishing) return;
        try {
          if (await this.deps.runs.renewLease(run.runId, this.deps.workerId, until)) {
            run.extendLease(until);
          } else {
            this.deps.logger.warn({ runId: run.runId }, "lost the run's lease to another worker; fencing it");
            run.fence();
          }
        } catch (error) {
          this.deps.logger.warn({ runId: run.runId, err: messageOf(error) }, "could not renew the run's lease; retrying");
        }
      }),
    );
  }
}

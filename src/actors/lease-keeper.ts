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
  /** Runs with a renewal under way: on a slow database, renewals would otherwise pile up behind it. */
  private readonly renewing = new Set<string>();

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
        if (!run.needsLease || this.renewing.has(run.runId)) return;
        if (!run.mayStartWrite) {
          // (Nearly) lapsed: another worker may take the run over before a renewal lands, and a late
          // renewal could undo its takeover (FerretDB's updates are not atomic). Let the run go instead.
          this.deps.logger.warn({ runId: run.runId }, "the run's lease lapsed before it was renewed; fencing it");
          run.fence();
          return;
        }
        this.renewing.add(run.runId);
        try {
          if (await this.deps.runs.renewLease(run.runId, this.deps.workerId, until)) {
            run.extendLease(until);
          } else if (run.needsLease) {
            // Another worker took the run over. (A run that finished meanwhile, its lease cleared,
            // is not renewable either, but needs no lease any more.)
            this.deps.logger.warn({ runId: run.runId }, "lost the run's lease to another worker; fencing it");
            run.fence();
          }
        } catch (error) {
          this.deps.logger.warn({ runId: run.runId, err: messageOf(error) }, "could not renew the run's lease; retrying");
        } finally {
          this.renewing.delete(run.runId);
        }
      }),
    );
  }
}

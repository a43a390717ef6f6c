import { messageOf } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Clock, RunStore } from "../ports.js";
import type { RunActor } from "./run-actor.js";

/**
 * Whether a write for a run may start under a lease that ends at `leaseUntil`: while at least a
 * quarter of the lease is left (always without a lease). Another worker takes the run over half a
 * lease after the lease ends, so a write has three quarters of a lease to land before then;
 * FerretDB applies an update by writing back the whole document it read, so a late one would undo
 * the takeover.
 */
export function leaseLeavesRoomToWrite(leaseUntil: Date | null, leaseMs: number | undefined, now: Date): boolean {
  if (leaseUntil === null || !leaseMs) return true;
  return now.getTime() + leaseMs / 4 <= leaseUntil.getTime();
}

/**
 * Renews the leases of the runs this worker hosts (DESIGN §7). A lease that cannot be renewed
 * belongs to another worker now: the run is fenced and stops emitting. A renewal that fails for
 * another reason (the database is down) is retried; the run fences itself once its lease lapses.
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | null = null;
  private renewing = false;

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
    // One renewal at a time: on a slow database, renewals would otherwise pile up behind it.
    if (this.renewing) return;
    const until = new Date(this.deps.clock.now().getTime() + this.leaseMs);
    const runs: RunActor[] = [];
    for (const run of this.deps.hosted()) {
      if (!run.needsLease) continue;
      if (!run.mayStartWrite) {
        // (Nearly) lapsed: another worker may take the run over before a renewal lands, and a late
        // renewal could undo its takeover (FerretDB's updates are not atomic). Let the run go instead.
        this.deps.logger.warn({ runId: run.runId }, "the run's lease lapsed before it was renewed; fencing it");
        run.fence();
        continue;
      }
      runs.push(run);
    }
    if (runs.length === 0) return;
    this.renewing = true;
    try {
      const renewed = new Set(await this.deps.runs.renewLeases(runs.map((run) => run.runId), this.deps.workerId, until));
      for (const run of runs) {
        if (renewed.has(run.runId)) run.extendLease(until);
        else if (run.needsLease) {
          // Another worker took the run over. (A run that finished meanwhile, its lease cleared,
          // is not renewable either, but needs no lease any more.)
          this.deps.logger.warn({ runId: run.runId }, "lost the run's lease to another worker; fencing it");
          run.fence();
        }
      }
    } catch (error) {
      this.deps.logger.warn({ runs: runs.length, err: messageOf(error) }, "could not renew the runs' leases; retrying");
    } finally {
      this.renewing = false;
    }
  }
}

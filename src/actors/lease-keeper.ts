import { messageOf } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Clock, RunStore } from "../ports.js";
import type { RunActor } from "./run-actor.js";

/**
 * Renews the leases of the runs this worker hosts (DESIGN §7), in one write per tick on the
 * stores' lease connection. A lease that cannot be renewed belongs to another worker now: the run
 * is fenced and stops emitting. A renewal that fails for another reason (the database is down) is
 * retried; a run whose lease nears its end unrenewed is stopped before it lapses.
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | null = null;
  private renewing = false;
  /** When a sweep last found every lease it needed renewed (or none needed): liveness reads it. */
  lastSweepOkAt: number = Date.now();

  constructor(
    private readonly deps: {
      runs: RunStore;
      clock: Clock;
      logger: Logger;
      workerId: string;
      hosted: () => Iterable<RunActor>;
      /** After each renewal: how many leases it extended and how many it found lost. */
      onRenewals?: (renewed: number, lost: number) => void;
    },
    private readonly leaseMs: number,
  ) {}

  private get intervalMs(): number {
    return Math.max(100, Math.floor(this.leaseMs / 3));
  }

  start(): void {
    this.timer = setInterval(() => void this.renewAll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async renewAll(): Promise<void> {
    const runs: RunActor[] = [];
    for (const run of this.deps.hosted()) {
      if (!run.needsLease) continue;
      if (!run.mayStartWrite) {
        // (Nearly) lapsed: another worker may take the run over before a renewal lands, while this
        // worker's Kafka records and checkpoint writes are fenced by time alone. Let the run go.
        this.deps.logger.warn({ run_id: run.runId, thread_id: run.threadId }, "the run's lease lapsed before it was renewed; fencing it");
        run.fence();
        continue;
      }
      runs.push(run);
    }
    if (runs.length === 0) {
      this.lastSweepOkAt = this.deps.clock.now().getTime();
      return;
    }
    if (this.renewing) {
      // One renewal at a time: on a slow database, renewals would otherwise pile up behind it.
      // The one under way has not answered yet: stop what cannot wait for another try.
      this.fenceUnrenewed(runs, "the database has not answered the last renewal");
      return;
    }
    this.renewing = true;
    try {
      // The server starts the new lease when the write reaches it, after `sent`: the lease ends no
      // earlier than `sent + leaseMs` by this worker's clock, whatever the server's clock says.
      const sent = this.deps.clock.now().getTime();
      const owned = runs.map((run) => ({ run_id: run.runId, attempt: run.owner.attempt }));
      const renewed = new Set(await this.deps.runs.renewLeases(owned, this.deps.workerId, this.leaseMs));
      const until = new Date(sent + this.leaseMs);
      for (const run of runs) {
        if (renewed.has(run.runId)) run.extendLease(until);
        else if (run.needsLease) {
          // Another worker took the run over. (A run that finished meanwhile, its lease cleared,
          // is not renewable either, but needs no lease any more.)
          this.deps.logger.warn({ run_id: run.runId, thread_id: run.threadId }, "lost the run's lease to another worker; fencing it");
          run.fence();
        }
      }
      this.deps.onRenewals?.(renewed.size, runs.length - renewed.size);
      this.lastSweepOkAt = this.deps.clock.now().getTime();
      await this.storeUsage(runs.filter((run) => renewed.has(run.runId)));
    } catch (error) {
      this.deps.logger.warn({ runs: runs.length, err: messageOf(error) }, "could not renew the runs' leases; retrying");
      this.fenceUnrenewed(runs, messageOf(error));
    } finally {
      this.renewing = false;
    }
  }

  /** Stores the token usage of the runs whose usage changed since the last tick, in one write. */
  private async storeUsage(runs: readonly RunActor[]): Promise<void> {
    const entries = runs.flatMap((run) => {
      const usage = run.unstoredUsage;
      return usage ? [{ run, usage }] : [];
    });
    if (entries.length === 0) return;
    try {
      await this.deps.runs.recordUsage(entries.map(({ run, usage }) => ({ run_id: run.runId, owner: run.owner, token_usage: usage })));
      for (const { run, usage } of entries) run.usageStored(usage);
    } catch (error) {
      this.deps.logger.warn({ runs: entries.length, err: messageOf(error) }, "could not store the runs' token usage; retrying");
    }
  }

  /**
   * Fences the runs whose lease would pass its safety margin (a quarter of a lease left) before the
   * next renewal could land, so a worker that cannot renew stops its runs before their leases lapse.
   */
  private fenceUnrenewed(runs: readonly RunActor[], why: string): void {
    const now = this.deps.clock.now().getTime();
    for (const run of runs) {
      const deadline = run.leaseDeadline?.getTime();
      if (deadline === undefined || !run.needsLease) continue;
      if (deadline - now < this.leaseMs / 4 + this.intervalMs) {
        this.deps.logger.warn({ run_id: run.runId, thread_id: run.threadId, why }, "the run's lease cannot be renewed before it runs out; stopping the run");
        run.fence();
      }
    }
  }
}

import { messageOf } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Clock, RunOwner, RunStore } from "../ports.js";

interface Ending {
  run_id: string;
  thread_id: string;
  owner: RunOwner;
  /** When the run finished, by this worker's clock. */
  at: number;
}

/**
 * Ends the leases of runs that finished on this worker, many runs in one write (DESIGN §7). The
 * lease of a finished run only keeps it `isHeldRun` (still finishing) for takeovers, and a run
 * finishes within a fraction of its lease, so its end can wait for the next batch: a fraction of
 * a lease later, well before the lease lapses. A worker that dies in between leaves runs whose
 * takeover finds everything done but the lease. A command that deletes a run or a thread ends
 * that thread's leases at once (`flush(threadId)`), so it never waits for the batch.
 */
export class LeaseEndings {
  private readonly due = new Map<string, Ending>();
  private timer: NodeJS.Timeout | null = null;
  /** Flushes in the order they were asked for: one write at a time. */
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: { runs: RunStore; clock: Clock; logger: Logger },
    private readonly leaseMs: number,
  ) {}

  /** Leases waiting for their write. */
  get size(): number {
    return this.due.size;
  }

  /** The run finished here under `owner`: its lease ends with the next batch. */
  add(runId: string, threadId: string, owner: RunOwner): void {
    this.due.set(runId, { run_id: runId, thread_id: threadId, owner, at: this.deps.clock.now().getTime() });
    this.schedule();
  }

  /** Ends the leases waiting (only `threadId`'s, when given) now; resolves once written or failed. */
  flush(threadId?: string): Promise<void> {
    const next = this.flushing.then(() => this.write(threadId));
    this.flushing = next;
    return next;
  }

  /** Stops the batch timer (shutdown): `flush` the leases still waiting first. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** A quarter of a lease: the lease keeper renews every third, so a finished run has more than that left. */
  private get batchMs(): number {
    return Math.max(50, Math.floor(this.leaseMs / 4));
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.batchMs).unref();
  }

  private async write(threadId: string | undefined): Promise<void> {
    const batch = [...this.due.values()].filter((ending) => threadId === undefined || ending.thread_id === threadId);
    if (batch.length === 0) return;
    try {
      await this.deps.runs.endLeases(batch.map(({ run_id, owner }) => ({ run_id, owner })));
      for (const ending of batch) if (this.due.get(ending.run_id) === ending) this.due.delete(ending.run_id);
    } catch (error) {
      // Tried again with the next batch; a lease that lapses first is another worker's to end.
      const lapsed = this.deps.clock.now().getTime() - this.leaseMs;
      for (const ending of batch) if (ending.at < lapsed) this.due.delete(ending.run_id);
      this.deps.logger.warn({ runs: batch.length, err: messageOf(error) }, "could not end the finished runs' leases; retrying");
      if (this.due.size > 0) this.schedule();
    }
  }
}

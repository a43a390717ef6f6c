/**
 * Keeps the MongoDB collections at their steady-state size during a benchmark.
 *
 * An upsert's cost can grow with its collection: FerretDB 1.24, the earlier local test server,
 * scanned a whole collection for every update and upsert (~7 ms at 140 documents, ~110 ms at
 * 2,000); bench/results/profile.json, field `upsert_cost_by_size`, measures the server in use.
 * Left alone, every benchmark would measure the collections' growth. So a finished thread's
 * documents are deleted a little after its run ended, for runbus and for the in-process baselines
 * alike: a long-running deployment's retention, compressed.
 */
import type { Db } from "mongodb";

const BY_THREAD_ID = ["checkpoints", "checkpoint_writes", "runs", "run_events"];

export class Reaper {
  private finished: Array<{ threadId: string; at: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> = Promise.resolve();
  deleted = 0;
  /** Sweeps the server refused (busy or briefly unreachable); their threads are retried. */
  failures = 0;

  /** `delayMs`: a run's thread is still released after its `end`; let that land first. */
  constructor(
    private readonly db: Db,
    private readonly delayMs = 1000,
  ) {}

  /** Sweeps in the background (closed-loop load); a sequential loop calls flush() between runs instead. */
  start(): void {
    this.timer ??= setInterval(() => void this.sweep(false), 250);
  }

  add(threadId: string): void {
    this.finished.push({ threadId, at: performance.now() });
  }

  /** Deletes everything finished so far (between measurements, never during one). */
  async flush(): Promise<void> {
    await this.sweep(true);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  private sweep(all: boolean): Promise<void> {
    this.sweeping = this.sweeping.then(async () => {
      const cutoff = performance.now() - (all ? -Infinity : this.delayMs);
      const due = this.finished.filter((f) => f.at <= cutoff).map((f) => f.threadId);
      if (due.length === 0) return;
      const kept = this.finished.filter((f) => f.at > cutoff);
      this.finished = kept;
      try {
        for (const name of BY_THREAD_ID) await this.db.collection(name).deleteMany({ thread_id: { $in: due } });
        await this.db.collection("threads").deleteMany({ _id: { $in: due } as never });
        this.deleted += due.length;
      } catch {
        this.failures += 1;
        const now = performance.now();
        this.finished.push(...due.map((threadId) => ({ threadId, at: now })));
      }
    });
    return this.sweeping;
  }
}

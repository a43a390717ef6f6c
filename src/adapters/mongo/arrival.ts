/**
 * Numbers that only grow within this process and follow wall-clock time across processes:
 * `max(ms × 1024, previous + 1)`. They order runs created in the same millisecond by arrival,
 * which neither a timestamp nor an ObjectId (random per-process bytes, a counter that wraps)
 * guarantees. ms × 1024 stays below 2^53, so the values are exact doubles.
 */
export class ArrivalSequence {
  private last = 0;

  next(at: Date | number = Date.now()): number {
    const ms = typeof at === "number" ? at : at.getTime();
    this.last = Math.max(Number.isFinite(ms) ? ms * 1024 : 0, this.last + 1);
    return this.last;
  }
}

/** One sequence per process, shared by every store in it. */
export const processArrivals = new ArrivalSequence();

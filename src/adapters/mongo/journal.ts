import { MongoBulkWriteError, type Collection } from "mongodb";
import type { Logger } from "../../logger.js";
import type { Journal, JournalEntry } from "../../ports.js";
import { processArrivals, type ArrivalSequence } from "./arrival.js";
import { journalFromDocument, journalToDocument, type JournalDocument } from "./documents.js";

export interface MongoJournalOptions {
  /** Writes once this many entries wait, in batches of this size. Default 100. */
  flushEvery?: number;
  /** Most entries held (waiting plus being written); beyond it the oldest waiting ones are dropped. Default 10 × flushEvery, at least 2 × flushEvery. */
  maxBuffered?: number;
  /** Also writes whatever waits this often, so a quiet run's last entries do not wait for the next flush(). Default 1000; null for never. */
  flushIntervalMs?: number | null;
  logger?: Logger;
  arrivals?: ArrivalSequence;
}

/**
 * The journal in `run_events`. `append` never waits and never throws: entries wait in memory and
 * are written in unordered batches. Memory stays bounded when the server is slower than the runs:
 * past `maxBuffered` the oldest waiting entries are dropped, counted in `dropped` and logged.
 * Each entry gets its `_id` when appended, so a batch retried after a lost answer cannot write twice.
 */
export class MongoJournal implements Journal {
  readonly flushEvery: number;
  readonly maxBuffered: number;
  private waiting: JournalDocument[] = [];
  private writing = 0;
  private draining: Promise<Error | undefined> | undefined;
  /** flush() calls under way: while any is, a drain writes every waiting entry, not only full batches. */
  private flushers = 0;
  private droppedTotal = 0;
  private droppedUnreported = 0;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly arrivals: ArrivalSequence;
  private closed = false;

  constructor(
    private readonly events: Collection<JournalDocument>,
    private readonly options: MongoJournalOptions = {},
  ) {
    this.flushEvery = Math.max(1, options.flushEvery ?? 100);
    this.maxBuffered = Math.max(2 * this.flushEvery, options.maxBuffered ?? 10 * this.flushEvery);
    this.arrivals = options.arrivals ?? processArrivals;
    const interval = options.flushIntervalMs === undefined ? 1000 : options.flushIntervalMs;
    if (interval !== null) {
      this.timer = setInterval(() => {
        if (this.waiting.length > 0 && !this.draining) this.flush().catch(() => undefined); // already logged
      }, interval);
      this.timer.unref();
    }
  }

  /** Entries held in memory: waiting, plus the batch being written. Never more than `maxBuffered`. */
  get buffered(): number {
    return this.waiting.length + this.writing;
  }

  /** Entries dropped so far: the oldest ones when the buffer was full, and any the server refused. */
  get dropped(): number {
    return this.droppedTotal;
  }

  append(entry: JournalEntry): void {
    const document = journalToDocument(entry, this.arrivals.next(entry.at));
    // The batch being written is at most flushEvery ≤ maxBuffered / 2, so `waiting` is never empty here.
    if (this.buffered >= this.maxBuffered && this.waiting.shift()) this.drop(1, "the buffer is full while earlier entries are being written");
    this.waiting.push(document);
    if (this.waiting.length >= this.flushEvery) void this.kick();
  }

  /** Writes every entry appended so far; rejects if the server refused the write (the entries stay buffered). */
  async flush(): Promise<void> {
    this.flushers += 1;
    try {
      while (this.waiting.length > 0 || this.draining) {
        const error = await this.kick();
        if (error) throw error;
      }
    } finally {
      this.flushers -= 1;
    }
  }

  async list(runId: string): Promise<JournalEntry[]> {
    const documents = await this.events.find({ run_id: runId }).sort({ at: 1, seq: 1 }).toArray();
    return documents.map(journalFromDocument);
  }

  /** Stops the interval timer and writes what waits. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.closed) return;
    this.closed = true;
    await this.flush();
  }

  private kick(): Promise<Error | undefined> {
    if (!this.draining) {
      const draining = this.drain().finally(() => {
        if (this.draining === draining) this.draining = undefined;
      });
      this.draining = draining;
      void draining.then((error) => {
        // Entries that came in during the last write start the next drain; after a failure, the next append or flush() retries.
        if (!error && this.waiting.length >= this.flushEvery) void this.kick();
      });
    }
    return this.draining;
  }

  private async drain(): Promise<Error | undefined> {
    while (this.waiting.length >= (this.flushers > 0 ? 1 : this.flushEvery)) {
      const batch = this.waiting.splice(0, this.flushEvery);
      this.writing = batch.length;
      try {
        await this.write(batch);
      } catch (error) {
        this.writing = 0;
        this.waiting.unshift(...batch);
        const excess = this.buffered - this.maxBuffered;
        if (excess > 0) this.drop(this.waiting.splice(0, excess).length, "the buffer is full and a write failed");
        this.options.logger?.warn({ err: error, buffered: this.buffered }, "journal write failed; the entries stay buffered and are retried");
        return error instanceof Error ? error : new Error(String(error));
      }
      this.writing = 0;
    }
    if (this.droppedUnreported > 0 && this.buffered < this.maxBuffered) {
      this.options.logger?.warn({ dropped: this.droppedUnreported, dropped_total: this.droppedTotal }, "journal dropped entries");
      this.droppedUnreported = 0;
    }
    return undefined;
  }

  private async write(batch: JournalDocument[]): Promise<void> {
    try {
      await this.events.insertMany(batch, { ordered: false });
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError) || error.writeConcernError) throw error;
      const writeErrors = [error.writeErrors].flat();
      if (writeErrors.length === 0) throw error;
      // A duplicate is an entry an earlier attempt wrote; any other per-entry error would fail again.
      const refused = writeErrors.filter((e) => e.code !== 11000);
      if (refused.length > 0) this.drop(refused.length, `the server refused them: ${refused[0]?.errmsg ?? "unknown error"}`);
    }
  }

  private drop(count: number, why: string): void {
    if (count === 0) return;
    if (this.droppedUnreported === 0) {
      this.options.logger?.warn({ max_buffered: this.maxBuffered, dropped_total: this.droppedTotal + count }, `journal dropping entries: ${why}`);
    }
    this.droppedTotal += count;
    this.droppedUnreported += count;
  }
}

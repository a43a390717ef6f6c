import type { Collection, Filter } from "mongodb";
import { KeyedSerializer } from "../../actors/keyed-serializer.js";
import type { RunPatch, RunRecord, RunStore } from "../../ports.js";
import type { RunStatus } from "../../protocol/run-status.js";
import { processArrivals, type ArrivalSequence } from "./arrival.js";
import { isDuplicateKey, type RunTakeoverDocument } from "./collections.js";
import { runFromDocument, runToDocument, type RunDocument } from "./documents.js";

const PATCHABLE = ["status", "error", "attempt", "worker_id", "lease_until", "started_at", "ended_at", "not_before", "token_usage", "machine", "end_seq"] as const;
const LIVE = ["pending", "running", "rolling_back"] as const;
/** Runs a worker holds under a lease (`isHeldRun`): live, or ended and still finishing (a numeric `end_seq`). */
const HELD: Filter<RunDocument> = { $or: [{ status: { $in: [...LIVE] } }, { end_seq: { $gte: 0 } }] };
/** Takers of one lapsed lease that may die before their update, in a row, before the run needs a person. */
const MAX_TAKEOVER_TOKENS = 20;
const TAKEOVER_TOKEN_STALE_MS = 30_000;

/**
 * Runs in the `runs` collection, ordered by arrival (see arrival.ts).
 *
 * Writes to one run go one at a time in this process: FerretDB applies an update by reading the
 * document, changing it in memory and writing it back whole, so two concurrent updates of
 * different fields (a lease renewal and a status change) lose one of them (measured: 94 of 100
 * rounds). A run's writers in one worker are its run actor and the lease keeper; another worker
 * writes to it only after taking it over, once its lease has lapsed.
 */
export class MongoRunStore implements RunStore {
  private readonly writes = new KeyedSerializer();

  constructor(
    private readonly runs: Collection<RunDocument>,
    private readonly arrivals: ArrivalSequence = processArrivals,
    /** Takeover tokens; without them a takeover relies on the conditional update alone (MongoDB). */
    private readonly takeovers?: Collection<RunTakeoverDocument>,
  ) {}

  async create(run: RunRecord): Promise<{ run: RunRecord; created: boolean }> {
    // Taken before any await, so concurrent creates keep the order in which they were called.
    const document = runToDocument(run, this.arrivals.next(run.created_at));
    for (;;) {
      try {
        await this.runs.insertOne(document);
        return { run: structuredClone(run), created: true };
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const existing = await this.get(run.run_id);
      if (existing) return { run: existing, created: false };
    }
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const document = await this.runs.findOne({ _id: runId });
    return document ? runFromDocument(document) : undefined;
  }

  async update(runId: string, patch: RunPatch): Promise<RunRecord | undefined> {
    const set: Partial<RunDocument> = {};
    for (const key of PATCHABLE) if (patch[key] !== undefined) Object.assign(set, { [key]: patch[key] });
    if (Object.keys(set).length === 0) return this.get(runId);
    const document = await this.writes.run(runId, () => this.runs.findOneAndUpdate({ _id: runId }, { $set: set }, { returnDocument: "after" }));
    return document ? runFromDocument(document) : undefined;
  }

  async listByThread(threadId: string, options: { status?: RunStatus; limit?: number } = {}): Promise<RunRecord[]> {
    if (options.limit !== undefined && options.limit <= 0) return [];
    const filter: Filter<RunDocument> = { thread_id: threadId };
    if (options.status !== undefined) filter.status = options.status;
    let cursor = this.runs.find(filter).sort({ created_at: -1, arrival: -1 });
    if (options.limit !== undefined) cursor = cursor.limit(options.limit);
    return (await cursor.toArray()).map(runFromDocument);
  }

  async listPending(threadId: string): Promise<RunRecord[]> {
    const documents = await this.runs.find({ thread_id: threadId, status: "pending" }).sort({ arrival: 1 }).toArray();
    return documents.map(runFromDocument);
  }

  async renewLease(runId: string, workerId: string, leaseUntil: Date): Promise<boolean> {
    const result = await this.writes.run(runId, () =>
      this.runs.updateOne({ _id: runId, worker_id: workerId, lease_until: { $ne: null }, ...HELD }, { $set: { lease_until: leaseUntil } }),
    );
    return result.matchedCount === 1;
  }

  /**
   * One update for all of a worker's runs: on FerretDB every command costs, and a worker renews
   * every run it hosts every third of a lease. Each run's queued writes go first (see `writes`).
   */
  async renewLeases(runIds: readonly string[], workerId: string, leaseUntil: Date): Promise<string[]> {
    if (runIds.length === 0) return [];
    const ids = [...runIds];
    return this.writes.runAll(ids, async () => {
      const result = await this.runs.updateMany({ _id: { $in: ids }, worker_id: workerId, lease_until: { $ne: null }, ...HELD }, { $set: { lease_until: leaseUntil } });
      if (result.matchedCount === ids.length) return ids;
      const held = await this.runs.find({ _id: { $in: ids }, worker_id: workerId, lease_until: leaseUntil }, { projection: { _id: 1 } }).toArray();
      return held.map((document) => document._id);
    });
  }

  async listExpiredLeases(before: Date, limit: number): Promise<RunRecord[]> {
    const documents = await this.runs
      .find({ ...HELD, lease_until: { $lt: before } })
      .sort({ lease_until: 1 })
      .limit(limit)
      .toArray();
    return documents.map(runFromDocument);
  }

  async takeOver(seen: RunRecord, patch: { worker_id: string; lease_until: Date; attempt: number }): Promise<RunRecord | undefined> {
    if (this.takeovers && !(await this.takeToken(this.takeovers, seen, patch))) return undefined;
    const document = await this.writes.run(seen.run_id, () =>
      this.runs.findOneAndUpdate(
        { _id: seen.run_id, worker_id: seen.worker_id, attempt: seen.attempt, lease_until: seen.lease_until, ...HELD },
        { $set: patch },
        { returnDocument: "after" },
      ),
    );
    return document ? runFromDocument(document) : undefined;
  }

  /**
   * FerretDB's conditional update is not atomic: of the workers taking over one lapsed lease, the
   * one whose insert of the token succeeds goes on. A taker that died between its token and its
   * update would block the run for good (nothing about the run changes any more), so once a token
   * is older than TAKEOVER_TOKEN_STALE_MS, the next token in line (`…#2`, `#3`, …) may be taken. The
   * bound is far above the time between a live taker's insert and its update, even on a loaded server.
   */
  private async takeToken(
    takeovers: Collection<RunTakeoverDocument>,
    seen: RunRecord,
    patch: { worker_id: string },
  ): Promise<boolean> {
    const key = `${seen.run_id}/${seen.attempt}/${seen.worker_id ?? "-"}/${seen.lease_until?.getTime() ?? 0}`;
    for (let n = 1; n <= MAX_TAKEOVER_TOKENS; n++) {
      const _id = n === 1 ? key : `${key}#${n}`;
      try {
        await takeovers.insertOne({ _id, run_id: seen.run_id, worker_id: patch.worker_id, taken_at: new Date() });
        return true;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const token = await takeovers.findOne({ _id });
      // Its taker may still be at work.
      if (!token || Date.now() - token.taken_at.getTime() < TAKEOVER_TOKEN_STALE_MS) return false;
    }
    return false;
  }

  async delete(runId: string): Promise<boolean> {
    return (await this.writes.run(runId, () => this.runs.deleteOne({ _id: runId }))).deletedCount === 1;
  }

  async deleteByThread(threadId: string): Promise<number> {
    return (await this.runs.deleteMany({ thread_id: threadId })).deletedCount;
  }
}

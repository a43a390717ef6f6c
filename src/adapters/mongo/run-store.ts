import type { Collection, Filter } from "mongodb";
import type { CancelRequest, RunOwner, RunPatch, RunRecord, RunStore, TokenUsage } from "../../ports.js";
import type { RunStatus } from "../../protocol/run-status.js";
import { processArrivals, type ArrivalSequence } from "./arrival.js";
import { isDuplicateKey } from "./collections.js";
import { runFromDocument, runToDocument, type RunDocument } from "./documents.js";

const PATCHABLE = ["status", "error", "lease_until", "started_at", "ended_at", "not_before", "token_usage", "machine", "end_seq"] as const;
const LIVE = ["pending", "running", "rolling_back"] as const;
/** Runs a worker holds under a lease (`isHeldRun`): live, or ended and still finishing (a numeric `end_seq`). */
const HELD: Filter<RunDocument> = { $or: [{ status: { $in: [...LIVE] } }, { end_seq: { $gte: 0 } }], lease_until: { $ne: null } };
/** The lease has lapsed by the server's clock. */
const LAPSED: Filter<RunDocument> = { $expr: { $lt: ["$lease_until", "$$NOW"] } };

/**
 * An update pipeline that sets the lease to `leaseMs` from the server's now, and `fields` as they
 * are (`$literal`: a pipeline would read a string starting with '$' as a field path). `$dateAdd`
 * rather than `$add` of a date and a number: both are MongoDB, the test server has only the first.
 */
function leaseFromNow(leaseMs: number, fields: Record<string, unknown> = {}) {
  const literal = Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, { $literal: value }]));
  return [{ $set: { ...literal, lease_until: { $dateAdd: { startDate: "$$NOW", unit: "millisecond", amount: leaseMs } } } }];
}

/**
 * Runs in the `runs` collection, ordered by arrival (see arrival.ts).
 *
 * Every write for a run is one conditional update on its owner (`worker_id`, `attempt`), which
 * MongoDB applies atomically: a worker that lost the run to another matches nothing. Lease
 * times are the server's (`$$NOW` in an update pipeline), so no worker's clock decides a lease.
 */
export class MongoRunStore implements RunStore {
  constructor(
    private readonly runs: Collection<RunDocument>,
    private readonly arrivals: ArrivalSequence = processArrivals,
    /**
     * The same collection on a client of its own, for lease renewals and takeovers: they must not
     * queue behind checkpoint and journal traffic, or a live worker's leases lapse under load.
     */
    private readonly leases: Collection<RunDocument> = runs,
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

  async update(runId: string, owner: RunOwner, patch: RunPatch): Promise<boolean> {
    const set: Partial<RunDocument> = {};
    for (const key of PATCHABLE) if (patch[key] !== undefined) Object.assign(set, { [key]: patch[key] });
    const filter = { _id: runId, worker_id: owner.worker_id, attempt: owner.attempt };
    if (Object.keys(set).length === 0) return (await this.runs.countDocuments(filter, { limit: 1 })) === 1;
    return (await this.runs.updateOne(filter, { $set: set })).matchedCount === 1;
  }

  async requestCancel(runId: string, request: CancelRequest): Promise<RunRecord | undefined> {
    const document = await this.runs.findOneAndUpdate(
      { _id: runId, status: { $in: [...LIVE] }, "cancel_requested.action": { $ne: "rollback" } },
      { $set: { cancel_requested: request } },
      { returnDocument: "after" },
    );
    return document ? runFromDocument(document) : this.get(runId);
  }

  async recordUsage(entries: ReadonlyArray<{ run_id: string; owner: RunOwner; token_usage: TokenUsage }>): Promise<void> {
    if (entries.length === 0) return;
    await this.leases.bulkWrite(
      entries.map(({ run_id, owner, token_usage }) => ({
        updateOne: { filter: { _id: run_id, worker_id: owner.worker_id, attempt: owner.attempt }, update: { $set: { token_usage } } },
      })),
      { ordered: false },
    );
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

  async renewLease(runId: string, owner: RunOwner, leaseMs: number): Promise<boolean> {
    const result = await this.leases.updateOne({ _id: runId, worker_id: owner.worker_id, attempt: owner.attempt, ...HELD }, leaseFromNow(leaseMs));
    return result.matchedCount === 1;
  }

  async endLeases(runs: ReadonlyArray<{ run_id: string; owner: RunOwner }>): Promise<void> {
    if (runs.length === 0) return;
    const owned = runs.map(({ run_id, owner }) => ({ _id: run_id, worker_id: owner.worker_id, attempt: owner.attempt }));
    await this.leases.updateMany({ $or: owned }, { $set: { lease_until: null } });
  }

  /** One update for all of a worker's runs, each matched on its own attempt. */
  async renewLeases(runs: ReadonlyArray<{ run_id: string; attempt: number }>, workerId: string, leaseMs: number): Promise<string[]> {
    if (runs.length === 0) return [];
    const owned: Filter<RunDocument> = { worker_id: workerId, $and: [HELD, { $or: runs.map(({ run_id, attempt }) => ({ _id: run_id, attempt })) }] };
    const result = await this.leases.updateMany(owned, leaseFromNow(leaseMs));
    if (result.matchedCount === runs.length) return runs.map((run) => run.run_id);
    // Some runs are no longer this worker's (or no longer held): the ones it still owns were renewed.
    const held = await this.leases.find(owned, { projection: { _id: 1 } }).toArray();
    return held.map((document) => document._id);
  }

  async listExpiredLeases(limit: number): Promise<RunRecord[]> {
    const documents = await this.leases
      .find({ $and: [HELD, LAPSED] })
      .sort({ lease_until: 1 })
      .limit(limit)
      .toArray();
    return documents.map(runFromDocument);
  }

  async takeOver(seen: RunRecord, patch: { worker_id: string; attempt: number; leaseMs: number }): Promise<RunRecord | undefined> {
    const document = await this.leases.findOneAndUpdate(
      { _id: seen.run_id, worker_id: seen.worker_id, attempt: seen.attempt, $and: [HELD, LAPSED, { lease_until: seen.lease_until }] },
      leaseFromNow(patch.leaseMs, { worker_id: patch.worker_id, attempt: patch.attempt }),
      { returnDocument: "after" },
    );
    return document ? runFromDocument(document) : undefined;
  }

  async delete(runId: string): Promise<boolean> {
    return (await this.runs.deleteOne({ _id: runId })).deletedCount === 1;
  }

  async deleteByThread(threadId: string): Promise<number> {
    return (await this.runs.deleteMany({ thread_id: threadId })).deletedCount;
  }
}

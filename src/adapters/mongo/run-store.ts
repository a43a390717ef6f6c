import type { Collection, Filter } from "mongodb";
import type { RunPatch, RunRecord, RunStore } from "../../ports.js";
import type { RunStatus } from "../../protocol/run-status.js";
import { processArrivals, type ArrivalSequence } from "./arrival.js";
import { isDuplicateKey, type RunTakeoverDocument } from "./collections.js";
import { runFromDocument, runToDocument, type RunDocument } from "./documents.js";

const PATCHABLE = ["status", "error", "attempt", "worker_id", "lease_until", "started_at", "ended_at", "not_before", "token_usage", "machine"] as const;
const LIVE = ["pending", "running", "rolling_back"] as const;

/** Runs in the `runs` collection, ordered by arrival (see arrival.ts). */
export class MongoRunStore implements RunStore {
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
    const document = await this.runs.findOneAndUpdate({ _id: runId }, { $set: set }, { returnDocument: "after" });
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
    const result = await this.runs.updateOne({ _id: runId, worker_id: workerId, status: { $in: [...LIVE] } }, { $set: { lease_until: leaseUntil } });
    return result.matchedCount === 1;
  }

  async listExpiredLeases(before: Date, limit: number): Promise<RunRecord[]> {
    const documents = await this.runs
      .find({ status: { $in: [...LIVE] }, lease_until: { $lt: before } })
      .sort({ lease_until: 1 })
      .limit(limit)
      .toArray();
    return documents.map(runFromDocument);
  }

  async takeOver(seen: RunRecord, patch: { worker_id: string; lease_until: Date; attempt: number }): Promise<RunRecord | undefined> {
    if (this.takeovers) {
      // FerretDB's conditional update is not atomic: the one insert of this key that succeeds wins.
      try {
        await this.takeovers.insertOne({
          _id: `${seen.run_id}/${seen.attempt}/${seen.worker_id ?? "-"}/${seen.lease_until?.getTime() ?? 0}`,
          run_id: seen.run_id,
          worker_id: patch.worker_id,
          taken_at: new Date(),
        });
      } catch (error) {
        if (isDuplicateKey(error)) return undefined;
        throw error;
      }
    }
    const document = await this.runs.findOneAndUpdate(
      { _id: seen.run_id, worker_id: seen.worker_id, attempt: seen.attempt, lease_until: seen.lease_until, status: { $in: [...LIVE] } },
      { $set: patch },
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

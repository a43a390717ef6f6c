import type { Collection, Filter } from "mongodb";
import { systemClock, type Clock, type ThreadQuery, type ThreadRecord, type ThreadStore } from "../../ports.js";
import { isDuplicateKey } from "./collections.js";
import { threadFromDocument, threadSlotFromDocument, threadToDocument, type ThreadDocument } from "./documents.js";
import { metadataFilter, metadataIndex } from "./metadata-index.js";
import { claimKey, type ThreadClaimDocument } from "./thread-claims.js";

export interface MongoThreadStoreOptions {
  clock?: Clock;
  /** Arbitrate claims through tokens in this collection first: for servers without atomic updates (FerretDB; see thread-claims.ts). */
  claims?: Collection<ThreadClaimDocument>;
}

/**
 * Threads in the `threads` collection. The active-run slot is one conditional update on one
 * document (`active_run_id: null → runId`): no transaction, no partial or TTL index.
 */
export class MongoThreadStore implements ThreadStore {
  private readonly clock: Clock;
  private readonly claims: Collection<ThreadClaimDocument> | undefined;

  constructor(
    private readonly threads: Collection<ThreadDocument>,
    options: MongoThreadStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.claims = options.claims;
  }

  async get(threadId: string): Promise<ThreadRecord | undefined> {
    const document = await this.threads.findOne({ _id: threadId });
    return document ? threadFromDocument(document) : undefined;
  }

  async create(threadId: string, metadata: Record<string, unknown>): Promise<{ thread: ThreadRecord; created: boolean }> {
    // A thread deleted between our failed insert and the read gets inserted on the next turn.
    for (;;) {
      const now = this.clock.now();
      const thread: ThreadRecord = {
        thread_id: threadId,
        status: "idle",
        display_name: null,
        metadata,
        active_run_id: null,
        created_at: now,
        updated_at: now,
      };
      try {
        await this.threads.insertOne(threadToDocument(thread));
        return { thread: structuredClone(thread), created: true };
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const existing = await this.get(threadId);
      if (existing) return { thread: existing, created: false };
    }
  }

  async list(query: ThreadQuery = {}): Promise<ThreadRecord[]> {
    if (query.limit !== undefined && query.limit <= 0) return [];
    const filter: Filter<ThreadDocument> = {};
    if (query.status !== undefined) filter.status = query.status;
    const fingerprints = metadataFilter(query.metadata);
    if (fingerprints.length > 0) filter.metadata_index = { $all: fingerprints };
    let cursor = this.threads.find(filter).sort({ updated_at: -1, _id: 1 });
    if (query.offset) cursor = cursor.skip(query.offset);
    if (query.limit !== undefined) cursor = cursor.limit(query.limit);
    const documents = await cursor.toArray();
    return documents.map(threadFromDocument);
  }

  async update(
    threadId: string,
    patch: Partial<Pick<ThreadRecord, "status" | "display_name" | "metadata">>,
  ): Promise<ThreadRecord | undefined> {
    const set: Partial<ThreadDocument> = { status: patch.status, display_name: patch.display_name, updated_at: this.clock.now() };
    if (patch.metadata !== undefined) {
      set.metadata = patch.metadata;
      set.metadata_index = metadataIndex(patch.metadata);
    }
    const document = await this.threads.findOneAndUpdate({ _id: threadId }, { $set: set }, { returnDocument: "after" });
    return document ? threadFromDocument(document) : undefined;
  }

  async delete(threadId: string): Promise<boolean> {
    const result = await this.threads.deleteOne({ _id: threadId });
    // Tokens of a deleted thread only take space: a thread created again gets a new epoch.
    await this.claims?.deleteMany({ thread_id: threadId });
    return result.deletedCount === 1;
  }

  async claim(threadId: string, runId: string): Promise<boolean> {
    if (!this.claims) return this.take(threadId, runId, {});
    const document = await this.threads.findOne({ _id: threadId });
    if (!document) return false;
    const slot = threadSlotFromDocument(document);
    if (slot.active_run_id !== null) return false;
    const key = claimKey(threadId, slot);
    try {
      await this.claims.insertOne({ _id: key, thread_id: threadId, run_id: runId, claimed_at: this.clock.now() });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // The same run claiming again (a re-run after a crash between token and update) carries on.
      const token = await this.claims.findOne({ _id: key });
      if (token?.run_id !== runId) return false;
    }
    // The filter pins the vacancy, so a token taken from a stale read cannot claim a later one.
    const won = await this.take(threadId, runId, {
      slot_epoch: slot.slot_epoch ?? { $exists: false },
      slot_seq: slot.slot_seq ?? { $exists: false },
    });
    if (!won) await this.claims.deleteOne({ _id: key, run_id: runId });
    return won;
  }

  async release(
    threadId: string,
    runId: string,
    patch: Pick<ThreadRecord, "status"> & Partial<Pick<ThreadRecord, "display_name">>,
  ): Promise<boolean> {
    const result = await this.threads.updateOne(
      { _id: threadId, active_run_id: runId },
      {
        $set: { active_run_id: null, status: patch.status, display_name: patch.display_name, updated_at: this.clock.now() },
        // A new vacancy: the next claim needs a new token.
        $inc: { slot_seq: 1 },
      },
    );
    if (result.matchedCount === 1) await this.claims?.deleteMany({ thread_id: threadId, run_id: runId });
    return result.matchedCount === 1;
  }

  private async take(threadId: string, runId: string, vacancy: Filter<ThreadDocument>): Promise<boolean> {
    const result = await this.threads.updateOne(
      { _id: threadId, active_run_id: null, ...vacancy },
      { $set: { active_run_id: runId, status: "busy", updated_at: this.clock.now() } },
    );
    return result.matchedCount === 1;
  }
}

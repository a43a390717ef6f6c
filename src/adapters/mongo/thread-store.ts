import type { Collection, Filter } from "mongodb";
import { systemClock, type Clock, type RunOwner, type ThreadQuery, type ThreadRecord, type ThreadStore } from "../../ports.js";
import { isDuplicateKey } from "./collections.js";
import type { Transition } from "../../protocol/audit.js";
import { threadLastTransitionFromDocument, threadAuditSeqFromDocument, threadFromDocument, threadHolderFromDocument, threadToDocument, type ThreadDocument, type ThreadTombstoneDocument } from "./documents.js";
import { metadataFilter, metadataIndex } from "./metadata-index.js";

export interface MongoThreadStoreOptions {
  clock?: Clock;
  /** Where deleted threads leave a tombstone (`thread_tombstones`); without it, none is kept. */
  tombstones?: Collection<ThreadTombstoneDocument>;
}


/**
 * Threads in the `threads` collection. The active-run slot is one conditional update on one
 * document (`active_run_id: null → runId`) that also records the slot's holder — the run's
 * owner (`active_worker_id`, `active_attempt`) — so a stale worker's release of a run that was
 * taken over matches nothing. The same update takes the thread's next audit seq (`$inc`), so the
 * seqs stay in the order of the transitions whichever worker makes them. No transaction, no
 * partial or TTL index.
 */
export class MongoThreadStore implements ThreadStore {
  private readonly clock: Clock;

  constructor(
    private readonly threads: Collection<ThreadDocument>,
    private readonly options: MongoThreadStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async get(threadId: string): Promise<ThreadRecord | undefined> {
    const document = await this.threads.findOne({ _id: threadId });
    return document ? threadFromDocument(document) : undefined;
  }

  async getWithSeq(threadId: string): Promise<{ thread: ThreadRecord; auditSeq: number; lastTransition?: Transition } | undefined> {
    const document = await this.threads.findOne({ _id: threadId });
    if (!document) return undefined;
    const last = threadLastTransitionFromDocument(document);
    return { thread: threadFromDocument(document), auditSeq: threadAuditSeqFromDocument(document), ...(last ? { lastTransition: last } : {}) };
  }

  async create(threadId: string, metadata: Record<string, unknown>, owner?: string): Promise<{ thread: ThreadRecord; created: boolean }> {
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
        ...(owner !== undefined ? { owner } : {}),
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
    const { by, order } = query.sort ?? { by: "updated_at", order: "desc" };
    const field = by === "thread_id" ? "_id" : by;
    let cursor = this.threads.find(threadFilter(query)).sort(field === "_id" ? { _id: order === "asc" ? 1 : -1 } : { [field]: order === "asc" ? 1 : -1, _id: 1 });
    if (query.offset) cursor = cursor.skip(query.offset);
    if (query.limit !== undefined) cursor = cursor.limit(query.limit);
    const documents = await cursor.toArray();
    return documents.map(threadFromDocument);
  }

  async count(query: ThreadQuery = {}): Promise<number> {
    return this.threads.countDocuments(threadFilter(query));
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

  async leaveTombstone(threadId: string, at: Date): Promise<void> {
    await this.options.tombstones?.updateOne({ _id: threadId }, { $set: { deleted_at: at } }, { upsert: true });
  }

  async clearTombstone(threadId: string): Promise<boolean> {
    return ((await this.options.tombstones?.deleteOne({ _id: threadId }))?.deletedCount ?? 0) === 1;
  }

  async delete(threadId: string): Promise<boolean> {
    return (await this.threads.deleteOne({ _id: threadId })).deletedCount === 1;
  }

  async claim(threadId: string, runId: string, holder: RunOwner, auditSeq?: number, transition?: Transition): Promise<boolean> {
    const result = await this.threads.updateOne(
      { _id: threadId, active_run_id: null, ...seqFilter(auditSeq) },
      {
        $set: { active_run_id: runId, ...holderFields(holder), status: "busy", updated_at: this.clock.now(), ...transitionField(transition) },
        $inc: { audit_seq: 1 },
      },
    );
    return result.matchedCount === 1;
  }

  async release(
    threadId: string,
    runId: string,
    holder: RunOwner,
    patch: Pick<ThreadRecord, "status"> & Partial<Pick<ThreadRecord, "display_name">>,
    auditSeq?: number,
    transition?: Transition,
  ): Promise<boolean> {
    const result = await this.threads.updateOne(
      { _id: threadId, active_run_id: runId, ...holderFields(holder), ...seqFilter(auditSeq) },
      {
        $set: {
          active_run_id: null,
          active_worker_id: null,
          active_attempt: null,
          status: patch.status,
          display_name: patch.display_name,
          updated_at: this.clock.now(),
          ...transitionField(transition),
        },
        $inc: { audit_seq: 1 },
      },
    );
    return result.matchedCount === 1;
  }

  /**
   * Compare-and-set from the holder as read: of concurrent transfers from one holder, one wins.
   * Only the worker that won the run's takeover transfers its slot, so there is no contest but
   * with a stale taker, whose transfer then matches nothing.
   */
  async transferClaim(threadId: string, runId: string, holder: RunOwner): Promise<boolean> {
    for (let attempt = 0; attempt < TRANSFER_TRIES; attempt++) {
      const document = await this.threads.findOne({ _id: threadId, active_run_id: runId });
      if (!document) return false;
      const current = threadHolderFromDocument(document);
      const filter: Filter<ThreadDocument> = {
        _id: threadId,
        active_run_id: runId,
        active_worker_id: current.active_worker_id ?? null,
        active_attempt: current.active_attempt ?? null,
      };
      const result = await this.threads.updateOne(filter, { $set: { ...holderFields(holder), updated_at: this.clock.now() } });
      if (result.matchedCount === 1) return true;
    }
    return false;
  }
}

/** A transfer loses a compare-and-set only to another transfer or a release; more than a few means it is contested for good. */
const TRANSFER_TRIES = 5;

/** Matches a thread whose next audit seq is `auditSeq`, when given; a document without one counts from 0. */
function seqFilter(auditSeq: number | undefined): Filter<ThreadDocument> {
  if (auditSeq === undefined) return {};
  return { audit_seq: auditSeq === 0 ? { $not: { $gt: 0 } } : auditSeq };
}

function transitionField(transition: Transition | undefined): Pick<ThreadDocument, "last_transition"> {
  return transition ? { last_transition: JSON.stringify(transition) } : {};
}

function holderFields(holder: RunOwner): Pick<ThreadDocument, "active_worker_id" | "active_attempt"> {
  return { active_worker_id: holder.worker_id, active_attempt: holder.attempt };
}

function threadFilter(query: ThreadQuery): Filter<ThreadDocument> {
  const filter: Filter<ThreadDocument> = {};
  if (query.ids !== undefined) filter._id = { $in: [...query.ids] };
  if (query.status !== undefined) filter.status = query.status;
  if (query.owner !== undefined) filter.owner = query.owner;
  const fingerprints = metadataFilter(query.metadata);
  if (fingerprints.length > 0) filter.metadata_index = { $all: fingerprints };
  return filter;
}

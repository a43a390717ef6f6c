import { isOwnedBy, type RunOwner, type ThreadQuery, type ThreadSort, type ThreadRecord, type ThreadStore } from "../../ports.js";
import { systemClock, type Clock } from "../../ports.js";
import type { Transition } from "../../protocol/audit.js";
import { matchesMetadata } from "./match-metadata.js";

/** Threads in a Map. Each method completes synchronously, so a claim is atomic in-process. */
export class MemoryThreadStore implements ThreadStore {
  private readonly threads = new Map<string, ThreadRecord>();
  /** Who holds each thread's active-run slot: the owner of its active run. */
  private readonly holders = new Map<string, RunOwner>();
  /** Each thread's next audit seq (see ThreadStore). */
  private readonly auditSeqs = new Map<string, number>();

  constructor(private readonly clock: Clock = systemClock) {}

  async get(threadId: string): Promise<ThreadRecord | undefined> {
    const thread = this.threads.get(threadId);
    return thread && structuredClone(thread);
  }

  async getWithSeq(threadId: string): Promise<{ thread: ThreadRecord; auditSeq: number; lastTransition?: Transition } | undefined> {
    const thread = this.threads.get(threadId);
    const last = this.lastTransitions.get(threadId);
    return thread && { thread: structuredClone(thread), auditSeq: this.auditSeqs.get(threadId) ?? 0, ...(last ? { lastTransition: structuredClone(last) } : {}) };
  }

  /** The last claim or release of each thread, stored with it (see ThreadStore.claim). */
  private readonly lastTransitions = new Map<string, Transition>();

  async create(threadId: string, metadata: Record<string, unknown>, owner?: string): Promise<{ thread: ThreadRecord; created: boolean }> {
    const existing = this.threads.get(threadId);
    if (existing) return { thread: structuredClone(existing), created: false };
    const now = this.clock.now();
    const thread: ThreadRecord = {
      thread_id: threadId,
      status: "idle",
      display_name: null,
      metadata: structuredClone(metadata),
      active_run_id: null,
      created_at: now,
      updated_at: now,
      ...(owner !== undefined ? { owner } : {}),
    };
    this.threads.set(threadId, thread);
    // The creation took seq 0.
    this.auditSeqs.set(threadId, 1);
    return { thread: structuredClone(thread), created: true };
  }

  async list(query: ThreadQuery = {}): Promise<ThreadRecord[]> {
    const matching = this.matching(query)
      .sort(threadOrder(query.sort ?? { by: "updated_at", order: "desc" }));
    const offset = query.offset ?? 0;
    return matching.slice(offset, query.limit === undefined ? undefined : offset + query.limit).map((t) => structuredClone(t));
  }

  async count(query: ThreadQuery = {}): Promise<number> {
    return this.matching(query).length;
  }

  private matching(query: ThreadQuery): ThreadRecord[] {
    const ids = query.ids === undefined ? undefined : new Set(query.ids);
    return [...this.threads.values()].filter(
      (t) =>
        (ids === undefined || ids.has(t.thread_id)) &&
        (query.status === undefined || t.status === query.status) &&
        (query.owner === undefined || t.owner === query.owner) &&
        matchesMetadata(t.metadata, query.metadata),
    );
  }

  async update(
    threadId: string,
    patch: Partial<Pick<ThreadRecord, "status" | "display_name" | "metadata">>,
  ): Promise<ThreadRecord | undefined> {
    const thread = this.threads.get(threadId);
    if (!thread) return undefined;
    Object.assign(thread, structuredClone(patch), { updated_at: this.clock.now() });
    return structuredClone(thread);
  }

  private readonly tombstones = new Map<string, Date>();

  async leaveTombstone(threadId: string, at: Date): Promise<void> {
    this.tombstones.set(threadId, at);
  }

  async clearTombstone(threadId: string): Promise<boolean> {
    return this.tombstones.delete(threadId);
  }

  async delete(threadId: string): Promise<boolean> {
    this.holders.delete(threadId);
    this.auditSeqs.delete(threadId);
    this.lastTransitions.delete(threadId);
    return this.threads.delete(threadId);
  }

  async claim(threadId: string, runId: string, holder: RunOwner, auditSeq?: number, transition?: Transition): Promise<boolean> {
    const thread = this.threads.get(threadId);
    if (!thread || thread.active_run_id !== null || !this.takeSeq(threadId, auditSeq)) return false;
    if (transition) this.lastTransitions.set(threadId, structuredClone(transition));
    thread.active_run_id = runId;
    this.holders.set(threadId, { ...holder });
    thread.status = "busy";
    thread.updated_at = this.clock.now();
    return true;
  }

  async release(
    threadId: string,
    runId: string,
    holder: RunOwner,
    patch: Pick<ThreadRecord, "status"> & Partial<Pick<ThreadRecord, "display_name">>,
    auditSeq?: number,
    transition?: Transition,
  ): Promise<boolean> {
    const thread = this.threads.get(threadId);
    const current = this.holders.get(threadId);
    if (!thread || thread.active_run_id !== runId || !current || !isOwnedBy(current, holder)) return false;
    if (!this.takeSeq(threadId, auditSeq)) return false;
    if (transition) this.lastTransitions.set(threadId, structuredClone(transition));
    thread.active_run_id = null;
    this.holders.delete(threadId);
    Object.assign(thread, patch, { updated_at: this.clock.now() });
    return true;
  }

  async transferClaim(threadId: string, runId: string, holder: RunOwner): Promise<boolean> {
    if (this.threads.get(threadId)?.active_run_id !== runId) return false;
    this.holders.set(threadId, { ...holder });
    return true;
  }

  /** Takes the thread's next seq for a transition, if it is `expected` (when given). */
  private takeSeq(threadId: string, expected: number | undefined): boolean {
    const next = this.auditSeqs.get(threadId) ?? 0;
    if (expected !== undefined && expected !== next) return false;
    this.auditSeqs.set(threadId, next + 1);
    return true;
  }
}

/** Ties by id in code-unit order, as MongoDB sorts strings (localeCompare would put "a" before "B"). */
function threadOrder(sort: ThreadSort): (a: ThreadRecord, b: ThreadRecord) => number {
  const sign = sort.order === "asc" ? 1 : -1;
  const byId = (a: ThreadRecord, b: ThreadRecord) => (a.thread_id < b.thread_id ? -1 : a.thread_id > b.thread_id ? 1 : 0);
  const key = (t: ThreadRecord): string | number => (sort.by === "created_at" ? t.created_at.getTime() : sort.by === "updated_at" ? t.updated_at.getTime() : sort.by === "status" ? t.status : t.thread_id);
  return (a, b) => {
    const [x, y] = [key(a), key(b)];
    const primary = x < y ? -sign : x > y ? sign : 0;
    return primary || (sort.by === "thread_id" ? 0 : byId(a, b));
  };
}

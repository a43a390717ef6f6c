import type { ThreadQuery, ThreadRecord, ThreadStore } from "../../ports.js";
import { systemClock, type Clock } from "../../ports.js";
import { matchesMetadata } from "./match-metadata.js";

/** Threads in a Map. Each method completes synchronously, so a claim is atomic in-process. */
export class MemoryThreadStore implements ThreadStore {
  private readonly threads = new Map<string, ThreadRecord>();

  constructor(private readonly clock: Clock = systemClock) {}

  async get(threadId: string): Promise<ThreadRecord | undefined> {
    const thread = this.threads.get(threadId);
    return thread && structuredClone(thread);
  }

  async create(threadId: string, metadata: Record<string, unknown>): Promise<{ thread: ThreadRecord; created: boolean }> {
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
    };
    this.threads.set(threadId, thread);
    return { thread: structuredClone(thread), created: true };
  }

  async list(query: ThreadQuery = {}): Promise<ThreadRecord[]> {
    const matching = [...this.threads.values()]
      .filter((t) => (query.status === undefined || t.status === query.status) && matchesMetadata(t.metadata, query.metadata))
      // Ties by id in code-unit order, as MongoDB sorts strings (localeCompare would put "a" before "B").
      .sort((a, b) => b.updated_at.getTime() - a.updated_at.getTime() || (a.thread_id < b.thread_id ? -1 : a.thread_id > b.thread_id ? 1 : 0));
    const offset = query.offset ?? 0;
    return matching.slice(offset, query.limit === undefined ? undefined : offset + query.limit).map((t) => structuredClone(t));
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

  async delete(threadId: string): Promise<boolean> {
    return this.threads.delete(threadId);
  }

  async claim(threadId: string, runId: string): Promise<boolean> {
    const thread = this.threads.get(threadId);
    if (!thread || thread.active_run_id !== null) return false;
    thread.active_run_id = runId;
    thread.status = "busy";
    thread.updated_at = this.clock.now();
    return true;
  }

  async release(
    threadId: string,
    runId: string,
    patch: Pick<ThreadRecord, "status"> & Partial<Pick<ThreadRecord, "display_name">>,
  ): Promise<boolean> {
    const thread = this.threads.get(threadId);
    if (!thread || thread.active_run_id !== runId) return false;
    thread.active_run_id = null;
    Object.assign(thread, patch, { updated_at: this.clock.now() });
    return true;
  }
}

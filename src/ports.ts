/**
 * The interfaces the core owns and the adapters (memory, kafka, mongo) implement.
 * Everything here is I/O the machines never touch directly.
 */
import type { RunCreateCommand } from "./protocol/commands.js";
import type { RunEvent } from "./protocol/events.js";
import type { Transition } from "./protocol/audit.js";
import type { Reply } from "./protocol/replies.js";
import { isTerminalRunStatus, type RunStatus, type ThreadStatus } from "./protocol/run-status.js";

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
}

export interface ThreadRecord {
  thread_id: string;
  status: ThreadStatus;
  display_name: string | null;
  metadata: Record<string, unknown>;
  active_run_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface RunRecord {
  run_id: string;
  thread_id: string;
  graph_id: string;
  status: RunStatus;
  error: { name: string; message: string } | null;
  attempt: number;
  worker_id: string | null;
  lease_until: Date | null;
  created_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
  /** Not before this time (a create with after_seconds). */
  not_before: Date | null;
  token_usage: TokenUsage;
  request: RunCreateCommand;
  /** The run machine's persisted snapshot (machine-snapshot.ts), for a takeover after a worker loss. */
  machine: string | null;
  /**
   * The seq of the run's `end` event, stored with its outcome before `end` is written. From then
   * until its worker clears the lease, the run is finishing (its `end`, its thread's release); a
   * worker that takes it over after a loss finishes it rather than running it again (DESIGN §7).
   * Absent from records written before finishing was tracked.
   */
  end_seq?: number | null;
}

/** A run some worker holds under a lease: live, or ended and still finishing (see `end_seq`). */
export function isHeldRun(run: Pick<RunRecord, "status" | "lease_until" | "end_seq">): boolean {
  return run.lease_until !== null && (!isTerminalRunStatus(run.status) || (run.end_seq ?? null) !== null);
}

export type RunPatch = Partial<Omit<RunRecord, "run_id" | "thread_id" | "graph_id" | "created_at" | "request">>;

export interface ThreadQuery {
  status?: ThreadStatus;
  metadata?: Record<string, unknown>;
  limit?: number;
  offset?: number;
}

/** Thread documents. Only the thread-store actor calls the mutating methods. */
export interface ThreadStore {
  get(threadId: string): Promise<ThreadRecord | undefined>;
  /** Creates the thread unless it exists; returns the stored record and whether it was created. */
  create(threadId: string, metadata: Record<string, unknown>): Promise<{ thread: ThreadRecord; created: boolean }>;
  list(query?: ThreadQuery): Promise<ThreadRecord[]>;
  update(threadId: string, patch: Partial<Pick<ThreadRecord, "status" | "display_name" | "metadata">>): Promise<ThreadRecord | undefined>;
  delete(threadId: string): Promise<boolean>;
  /**
   * The active-run slot: a single conditional update (`active_run_id: null → runId`).
   * Resolves true for exactly one of any number of concurrent claims.
   */
  claim(threadId: string, runId: string): Promise<boolean>;
  /** Frees the slot if `runId` holds it, setting the thread's status in the same update. */
  release(threadId: string, runId: string, patch: Pick<ThreadRecord, "status"> & Partial<Pick<ThreadRecord, "display_name">>): Promise<boolean>;
}

/** Run documents. */
export interface RunStore {
  /** Inserts the run unless one with its id exists; returns the stored one and whether it was inserted. */
  create(run: RunRecord): Promise<{ run: RunRecord; created: boolean }>;
  get(runId: string): Promise<RunRecord | undefined>;
  update(runId: string, patch: RunPatch): Promise<RunRecord | undefined>;
  /** A thread's runs, newest first. */
  listByThread(threadId: string, options?: { status?: RunStatus; limit?: number }): Promise<RunRecord[]>;
  /** A thread's pending runs in arrival order (oldest first). */
  listPending(threadId: string): Promise<RunRecord[]>;
  /** Extends the lease while `workerId` still holds the run (`isHeldRun`); false when it no longer does. */
  renewLease(runId: string, workerId: string, leaseUntil: Date): Promise<boolean>;
  /** `renewLease` for many runs in one write; resolves with the ids whose lease it extended. */
  renewLeases(runIds: readonly string[], workerId: string, leaseUntil: Date): Promise<string[]>;
  /** Held runs (`isHeldRun`: live or finishing) whose worker's lease ended before `before`, oldest lease first. */
  listExpiredLeases(before: Date, limit: number): Promise<RunRecord[]>;
  /**
   * Moves a run whose lease expired to `workerId`, if it is still as `seen` (same worker, same
   * lease, same attempt). Exactly one of any number of concurrent takeovers gets the record.
   */
  takeOver(seen: RunRecord, patch: { worker_id: string; lease_until: Date; attempt: number }): Promise<RunRecord | undefined>;
  delete(runId: string): Promise<boolean>;
  deleteByThread(threadId: string): Promise<number>;
}

/** Where a run's events go: a per-run Kafka topic, a shared topic, or an in-process log. */
export interface RunEventSink {
  /** Prepares the run's stream (e.g. creates its topic) before its first event. Idempotent. */
  open(runId: string): Promise<void>;
  emit(event: RunEvent): Promise<void>;
  /** The seq after the last event the run's stream holds, so a takeover continues it without a gap. */
  nextSeq(runId: string): Promise<number>;
}

export interface AuditSink {
  record(transition: Transition): Promise<void>;
}

export interface ReplySink {
  reply(reply: Reply): Promise<void>;
}

export type JournalEntry =
  | { kind: "llm_call"; run_id: string; thread_id: string; at: Date; model: string | null; latency_ms: number; token_usage: TokenUsage | null }
  | { kind: "tool_result"; run_id: string; thread_id: string; at: Date; tool: string; latency_ms: number; output: unknown }
  | { kind: "error"; run_id: string; thread_id: string; at: Date; name: string; message: string };

/** Noteworthy events of a run, buffered by the implementation and flushed. */
export interface Journal {
  append(entry: JournalEntry): void;
  flush(): Promise<void>;
  list(runId: string): Promise<JournalEntry[]>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

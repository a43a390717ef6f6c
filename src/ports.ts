/**
 * The interfaces the core owns and the adapters (memory, kafka, mongo) implement.
 * Everything here is I/O the machines never touch directly.
 */
import type { CancelAction, RunCreateCommand } from "./protocol/commands.js";
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
  /**
   * The identity the thread belongs to (the `owner` of the command that created it); absent for a
   * thread created without one. An authenticating gateway shows a thread only to its owner.
   */
  owner?: string;
}

/**
 * Whether a command or request on behalf of `owner` may see and act on `thread`: without an owner
 * (the bare Kafka path, a gateway without authentication) any thread; with one, only its own.
 */
export function threadBelongsTo(thread: Pick<ThreadRecord, "owner">, owner: string | undefined): boolean {
  return owner === undefined || thread.owner === owner;
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
  /**
   * A cancel stored before it was acknowledged (DESIGN §7): whichever worker executes, takes over,
   * adopts or starts the run honours it. Absent until a cancel arrives.
   */
  cancel_requested?: CancelRequest | null;
}

export interface CancelRequest {
  action: CancelAction;
  at: Date;
}

/**
 * Who may write for a run: the worker executing it, in its current attempt (the run's epoch).
 * Every write a worker makes for a run is conditional on both (DESIGN §7), so once another worker
 * has taken the run over, a stale worker's writes match nothing.
 */
export interface RunOwner {
  worker_id: string | null;
  attempt: number;
}

/** A run some worker holds under a lease: live, or ended and still finishing (see `end_seq`). */
export function isHeldRun(run: Pick<RunRecord, "status" | "lease_until" | "end_seq">): boolean {
  return run.lease_until !== null && (!isTerminalRunStatus(run.status) || (run.end_seq ?? null) !== null);
}

/** What a run's owner may change; the owner itself changes only through `RunStore.takeOver`. */
export type RunPatch = Partial<Omit<RunRecord, "run_id" | "thread_id" | "graph_id" | "created_at" | "request" | "worker_id" | "attempt">>;

/** True when `run` is owned by `owner`. */
export function isOwnedBy(run: Pick<RunRecord, "worker_id" | "attempt">, owner: RunOwner): boolean {
  return run.worker_id === owner.worker_id && run.attempt === owner.attempt;
}

export interface ThreadQuery {
  /** Only these threads. */
  ids?: readonly string[];
  status?: ThreadStatus;
  metadata?: Record<string, unknown>;
  /** Only the threads of this identity (see ThreadRecord.owner). */
  owner?: string;
  /** Most recently updated first unless told otherwise; ties by thread id. */
  sort?: ThreadSort;
  limit?: number;
  offset?: number;
}

export interface ThreadSort {
  by: "thread_id" | "status" | "created_at" | "updated_at";
  order: "asc" | "desc";
}

/**
 * Thread documents. Only the thread-store actor calls the mutating methods.
 *
 * A thread also stores the seq of its next audit transition (DESIGN §4.4). Its transitions are its
 * creation (seq 0) and each claim and release of its slot, and each takes the next seq in the same
 * write that makes it: the seqs go on increasing whichever worker makes them, across restarts.
 */
export interface ThreadStore {
  get(threadId: string): Promise<ThreadRecord | undefined>;
  /**
   * The thread, the seq its next audit transition takes, and the last claim or release stored
   * with it (see `claim`).
   */
  getWithSeq(threadId: string): Promise<{ thread: ThreadRecord; auditSeq: number; lastTransition?: Transition } | undefined>;
  /**
   * Creates the thread (owned by `owner`, when given) unless it exists; returns the stored record
   * and whether it was created. An existing thread is returned unchanged, whoever owns it. A
   * created thread's next audit seq is 1: its `created` transition takes 0.
   */
  create(threadId: string, metadata: Record<string, unknown>, owner?: string): Promise<{ thread: ThreadRecord; created: boolean }>;
  list(query?: ThreadQuery): Promise<ThreadRecord[]>;
  /** How many threads match `query` (its limit and offset aside). */
  count(query?: ThreadQuery): Promise<number>;
  update(threadId: string, patch: Partial<Pick<ThreadRecord, "status" | "display_name" | "metadata">>): Promise<ThreadRecord | undefined>;
  delete(threadId: string): Promise<boolean>;
  /**
   * Marks a deleted thread: a graph fenced off it may still land a checkpoint write for a moment
   * (its lease's safety margin), which must not become the state of a thread created again under
   * the same id.
   */
  leaveTombstone(threadId: string, at: Date): Promise<void>;
  /** Removes the thread's tombstone; true when there was one, and its checkpoints must be purged before the id is used again. */
  clearTombstone(threadId: string): Promise<boolean>;
  /**
   * The active-run slot: a single conditional update (`active_run_id: null → runId`), recording
   * the run's owner as the slot's holder. Resolves true for exactly one of any number of
   * concurrent claims. Given `auditSeq`, the update also requires it to be the thread's next seq
   * (the claim takes it), so a claim decided on a read that another transition has overtaken
   * matches nothing. `transition`, the audit record of the claim, is stored with it, so that if
   * its worker dies before publishing it, the thread's next writer publishes it again.
   */
  claim(threadId: string, runId: string, holder: RunOwner, auditSeq?: number, transition?: Transition): Promise<boolean>;
  /**
   * Frees the slot if `runId` holds it under `holder` (so a stale worker's release matches nothing
   * once the run was taken over), setting the thread's status in the same update. `auditSeq` as
   * for `claim`.
   */
  release(
    threadId: string,
    runId: string,
    holder: RunOwner,
    patch: Pick<ThreadRecord, "status"> & Partial<Pick<ThreadRecord, "display_name">>,
    auditSeq?: number,
    transition?: Transition,
  ): Promise<boolean>;
  /**
   * Moves the slot `runId` holds to its new owner after a takeover, from whichever owner it has
   * (a taker may have died between taking the run and moving the slot). False when the run does
   * not hold the slot.
   */
  transferClaim(threadId: string, runId: string, holder: RunOwner): Promise<boolean>;
}

/**
 * Run documents. Lease times come from the store's clock — the database server's, through
 * `$$NOW` — so workers need no allowance for skew between their clocks and the server's: a lease
 * of `leaseMs` granted by a write lapses no earlier than `leaseMs` after the writer sent it.
 */
export interface RunStore {
  /** Inserts the run unless one with its id exists; returns the stored one and whether it was inserted. */
  create(run: RunRecord): Promise<{ run: RunRecord; created: boolean }>;
  get(runId: string): Promise<RunRecord | undefined>;
  /** Applies `patch` if `owner` still owns the run (same worker, same attempt); false when it matched nothing. */
  update(runId: string, owner: RunOwner, patch: RunPatch): Promise<boolean>;
  /**
   * Stores a cancel on a live run, unless a rollback is stored already (it is the stronger one).
   * Any worker may write it: it changes nothing but the request. Resolves the run as stored
   * afterwards, undefined when there is no such run.
   */
  requestCancel(runId: string, request: CancelRequest): Promise<RunRecord | undefined>;
  /**
   * Stores each run's token usage so far, where its owner still owns it: one write for many runs,
   * so an attempt that dies leaves its usage for the attempt that takes over to add to.
   */
  recordUsage(entries: ReadonlyArray<{ run_id: string; owner: RunOwner; token_usage: TokenUsage }>): Promise<void>;
  /** A thread's runs, newest first. */
  listByThread(threadId: string, options?: { status?: RunStatus; limit?: number }): Promise<RunRecord[]>;
  /** A thread's pending runs in arrival order (oldest first). */
  listPending(threadId: string): Promise<RunRecord[]>;
  /** Extends the lease to `leaseMs` from now while `owner` still holds the run (`isHeldRun`); false when it no longer does. */
  renewLease(runId: string, owner: RunOwner, leaseMs: number): Promise<boolean>;
  /**
   * Clears the leases of runs that finished, each where its owner still owns it, in one write:
   * their finishing is over, and no takeover may touch them any more.
   */
  endLeases(runs: ReadonlyArray<{ run_id: string; owner: RunOwner }>): Promise<void>;
  /** `renewLease` for many of one worker's runs in one write; resolves with the ids whose lease it extended. */
  renewLeases(runs: ReadonlyArray<{ run_id: string; attempt: number }>, workerId: string, leaseMs: number): Promise<string[]>;
  /** Held runs (`isHeldRun`: live or finishing) whose lease has lapsed by the store's clock, oldest lease first. */
  listExpiredLeases(limit: number): Promise<RunRecord[]>;
  /**
   * Moves a run whose lease has lapsed to `worker_id` with a lease of `leaseMs`, if it is still as
   * `seen` (same worker, same lease, same attempt). Exactly one of any number of concurrent
   * takeovers gets the record.
   */
  takeOver(seen: RunRecord, patch: { worker_id: string; attempt: number; leaseMs: number }): Promise<RunRecord | undefined>;
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
  /** What the human said to start the run: its input's last human message, or the resume value. Always first. */
  | { kind: "human_message"; run_id: string; thread_id: string; at: Date; source: "input" | "resume"; content: unknown }
  /** The graph's root chain starting and ending (with its duration), as LangChain reports them. */
  | { kind: "chain_start"; run_id: string; thread_id: string; at: Date; name: string }
  | { kind: "chain_end"; run_id: string; thread_id: string; at: Date; name: string; latency_ms: number }
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

import { transition } from "xstate";
import { RunbusError, messageOf } from "../errors.js";
import type { Logger } from "../logger.js";
import { threadMachine, threadOutcome } from "../machines/thread.machine.js";
import type { AuditSink, Clock, RunOwner, ThreadQuery, ThreadRecord, ThreadStore } from "../ports.js";
import type { Transition } from "../protocol/audit.js";
import type { RunStatus, ThreadStatus } from "../protocol/run-status.js";
import { KeyedSerializer } from "./keyed-serializer.js";

export interface ThreadStoreActorDeps {
  store: ThreadStore;
  audit: AuditSink;
  clock: Clock;
  logger: Logger;
  workerId: string;
  /** Deletes a thread's checkpoints: for an id reused after a delete (see `ensure`). */
  purgeCheckpoints?: (threadId: string) => Promise<void>;
}

/** A thread as read with its audit seq: what a claim needs to know of it (ThreadStore.getWithSeq). */
export interface SeenThread {
  thread: ThreadRecord;
  auditSeq: number;
  lastTransition?: Transition;
}

/** The audit seq a thread is created with: its `created` transition is seq 0 (ThreadStore.create). */
const CREATED_AUDIT_SEQ = 1;

export interface RunEnding {
  runStatus: RunStatus;
  /** The latest checkpoint has pending tasks (`next` non-empty): the graph paused. */
  hasNext: boolean;
  /** `channel_values.title` of the latest root checkpoint, when present. */
  title: string | null;
}

/**
 * The single writer of thread state. Updates to one thread run one at a time; the active-run
 * slot is the store's conditional update, so it also holds across workers. Every status change
 * goes through the thread machine and onto the audit topic, numbered by the seq the store keeps
 * with the thread (so nothing here outlives a thread's updates).
 */
export class ThreadStoreActor {
  private readonly serial = new KeyedSerializer();
  /**
   * The threads whose slot this worker claimed, as its claim left them: the release goes on from
   * here instead of reading the thread again. The release is conditional on the audit seq, so a
   * thread changed since the claim matches nothing and is read afresh.
   */
  private readonly held = new Map<string, SeenThread>();

  constructor(private readonly deps: ThreadStoreActorDeps) {}

  /** Threads with an update queued or under way: all this actor holds per thread. */
  get threadsInFlight(): number {
    return this.serial.size;
  }

  get(threadId: string): Promise<ThreadRecord | undefined> {
    return this.deps.store.get(threadId);
  }

  /** The thread with its audit seq, for a `claim` that follows (see there). */
  getWithSeq(threadId: string): Promise<SeenThread | undefined> {
    return this.deps.store.getWithSeq(threadId);
  }

  list(query?: ThreadQuery): Promise<ThreadRecord[]> {
    return this.deps.store.list(query);
  }

  /**
   * Creates the thread (owned by `owner`, when given) unless it exists. A thread created under the
   * id of a deleted one first has the deleted thread's late checkpoint writes purged (its tombstone):
   * `reused`.
   */
  ensure(threadId: string, metadata: Record<string, unknown> = {}, owner?: string): Promise<{ thread: ThreadRecord; created: boolean; reused?: boolean; seen?: SeenThread }> {
    return this.serial.run(threadId, async () => {
      const result = await this.deps.store.create(threadId, metadata, owner);
      if (!result.created) return result;
      const reused = await this.deps.store.clearTombstone(threadId);
      if (reused) await this.deps.purgeCheckpoints?.(threadId);
      await this.publish(threadId, null, "idle", "created", CREATED_AUDIT_SEQ - 1);
      return { ...result, reused, seen: { thread: structuredClone(result.thread), auditSeq: CREATED_AUDIT_SEQ } };
    });
  }

  updateMetadata(threadId: string, metadata: Record<string, unknown>): Promise<ThreadRecord> {
    return this.serial.run(threadId, async () => {
      const thread = await this.require(threadId);
      const updated = await this.deps.store.update(threadId, { metadata: { ...thread.metadata, ...metadata } });
      if (!updated) throw notFound(threadId);
      return updated;
    });
  }

  /** Deletes the thread document; refused while a run holds it unless forced. */
  delete(threadId: string, options: { force?: boolean } = {}): Promise<ThreadRecord> {
    return this.serial.run(threadId, async () => {
      const thread = await this.require(threadId);
      if (thread.active_run_id !== null && !options.force) {
        throw new RunbusError("thread_busy", `Thread ${threadId} is busy with run ${thread.active_run_id}; delete it with force to override.`);
      }
      await this.deps.store.delete(threadId);
      return thread;
    });
  }

  /** Records that the thread was deleted (see ThreadStore.leaveTombstone). */
  leaveTombstone(threadId: string): Promise<void> {
    return this.serial.run(threadId, () => this.deps.store.leaveTombstone(threadId, this.deps.clock.now()));
  }

  /**
   * Takes the active-run slot for `runId`, held by its owner `holder`; false when another run holds
   * it. `seen`, the caller's own read of a free thread, saves reading it again: the claim is
   * conditional on its audit seq, so if the thread changed since, the claim matches nothing and
   * the thread is read afresh.
   */
  claim(threadId: string, runId: string, holder: RunOwner, seen?: SeenThread): Promise<boolean> {
    return this.serial.run(threadId, async () => {
      let before = seen?.thread.active_run_id === null ? seen : await this.deps.store.getWithSeq(threadId);
      if (!before) throw notFound(threadId);
      for (let attempt = 1; ; attempt++) {
        const { thread, auditSeq } = before;
        if (thread.active_run_id !== null) return thread.active_run_id === runId;
        // The release that freed the slot, again, in case its worker died before publishing it:
        // the audit path must never show this claim while the slot looks held.
        await this.republishForeign(before.lastTransition);
        const claim = this.transition(threadId, thread.status, "busy", `claimed:${runId}`, auditSeq);
        if (await this.deps.store.claim(threadId, runId, holder, auditSeq, claim)) {
          this.remember(threadId, { thread: { ...thread, status: "busy", active_run_id: runId }, auditSeq: auditSeq + 1, lastTransition: claim });
          await this.record(claim);
          return true;
        }
        // Another worker's claim (and release) took the seq since the read, or the thread is gone.
        before = await this.deps.store.getWithSeq(threadId);
        if (!before || attempt === CLAIM_TRIES) return false;
      }
    });
  }

  /**
   * Moves the slot `runId` holds (if it does) to the run's new owner after a takeover, so the
   * stale owner's release matches nothing. Resolves whether the run holds the slot.
   */
  transferClaim(threadId: string, runId: string, holder: RunOwner): Promise<boolean> {
    return this.serial.run(threadId, () => this.deps.store.transferClaim(threadId, runId, holder));
  }

  /**
   * Publishes the claim of a thread `runId` holds again (same `ce_id`): the worker that claimed it
   * may have died between storing the claim and publishing it. For a worker taking the run over.
   */
  reannounceClaim(threadId: string, runId: string): Promise<void> {
    return this.serial.run(threadId, async () => {
      const held = await this.deps.store.getWithSeq(threadId);
      if (held?.thread.active_run_id !== runId) return;
      // While a run holds the slot its claim is the thread's latest transition: the same seq again.
      await this.publish(threadId, null, held.thread.status, `claimed:${runId}`, Math.max(0, held.auditSeq - 1));
    });
  }

  /**
   * Frees the slot held by `runId` under `holder` and sets the thread's status and title from how
   * the run ended. Resolves undefined when the run does not hold the slot under that owner.
   */
  release(threadId: string, runId: string, holder: RunOwner, ending: RunEnding): Promise<ThreadStatus | undefined> {
    return this.serial.run(threadId, async () => {
      const claimed = this.held.get(threadId);
      this.held.delete(threadId);
      let read = claimed?.thread.active_run_id === runId ? claimed : await this.deps.store.getWithSeq(threadId);
      for (;;) {
        if (read?.thread.active_run_id !== runId) {
          this.deps.logger.warn({ thread_id: threadId, run_id: runId, holder: read?.thread.active_run_id ?? null }, "release by a run that does not hold the thread");
          return undefined;
        }
        const before = read.thread;
        const current = threadMachine.resolveState({ value: before.status, context: { threadId, activeRunId: before.active_run_id } });
        const [next] = transition(threadMachine, current, { type: "RELEASE", runId, outcome: threadOutcome(ending.runStatus, ending.hasNext) });
        const status = next.value as ThreadStatus;
        const patch = ending.title === null ? { status } : { status, display_name: ending.title };
        const release = this.transition(threadId, before.status, status, `released:${runId}:${ending.runStatus}`, read.auditSeq);
        if (await this.deps.store.release(threadId, runId, holder, patch, read.auditSeq, release)) {
          await this.record(release);
          return status;
        }
        if (read !== claimed) break;
        // The thread changed since this worker claimed it (its slot moved to another owner of the run): read it.
        read = await this.deps.store.getWithSeq(threadId);
      }
      this.deps.logger.warn({ thread_id: threadId, run_id: runId, attempt: holder.attempt }, "release by a stale owner of the run: another worker holds the thread for it");
      return undefined;
    });
  }

  /**
   * Publishes the release of `runId` again (same record, same `ce_id`) when it is the thread's
   * last transition: for a worker finishing a run whose worker died after releasing the thread.
   */
  republishRelease(threadId: string, runId: string): Promise<void> {
    return this.serial.run(threadId, async () => {
      const last = (await this.deps.store.getWithSeq(threadId))?.lastTransition;
      if (last?.cause.startsWith(`released:${runId}:`)) await this.record(last);
    });
  }

  private remember(threadId: string, seen: SeenThread): void {
    this.held.delete(threadId);
    // A run fenced off its thread never releases it here: the oldest such entries go first.
    if (this.held.size >= HELD_LIMIT) this.held.delete(this.held.keys().next().value as string);
    this.held.set(threadId, seen);
  }

  /** Another worker's stored transition, published again; this worker's own were published when made. */
  private async republishForeign(last: Transition | undefined): Promise<void> {
    if (last && last.worker_id !== this.deps.workerId) await this.record(last);
  }

  private async require(threadId: string): Promise<ThreadRecord> {
    const thread = await this.deps.store.get(threadId);
    if (!thread) throw notFound(threadId);
    return thread;
  }

  private async publish(threadId: string, from: ThreadStatus | null, to: ThreadStatus, cause: string, seq: number): Promise<void> {
    await this.record(this.transition(threadId, from, to, cause, seq));
  }

  private transition(threadId: string, from: ThreadStatus | null, to: ThreadStatus, cause: string, seq: number): Transition {
    return { kind: "thread", id: threadId, thread_id: threadId, from, to, cause, at: this.deps.clock.now().toISOString(), worker_id: this.deps.workerId, seq };
  }

  private async record(transition: Transition): Promise<void> {
    try {
      await this.deps.audit.record(transition);
    } catch (error) {
      this.deps.logger.error({ thread_id: transition.thread_id, from: transition.from, to: transition.to, err: messageOf(error) }, "could not record a thread transition");
    }
  }
}

/** Claimed threads remembered for their release; more means runs fenced here, whose entries are dropped. */
const HELD_LIMIT = 10_000;

/** Claims lost to other workers' transitions in a row before this one counts as lost to them. */
const CLAIM_TRIES = 5;

function notFound(threadId: string): RunbusError {
  return new RunbusError("thread_not_found", `Thread ${threadId} does not exist.`);
}

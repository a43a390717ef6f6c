import type { RunnableConfig } from "@langchain/core/runnables";
import type { BaseCheckpointSaver, Checkpoint } from "@langchain/langgraph-checkpoint";
import { silentLogger, type Logger } from "../logger.js";
import { tracer } from "../ops/tracing.js";

export interface CheckpointGuardOptions {
  /** How long `settle` lets an aborted graph go on writing before it fences the thread anyway. */
  settleTimeoutMs?: number;
  logger?: Logger;
}

/** What a settle watches on its thread: the graph writes that went through since it began. */
interface Watch {
  started: number;
  runIds: Set<string>;
  watchers: number;
}

/**
 * Stands between graphs and the checkpointer so a cancelled run can be fenced off its thread.
 * An aborted LangGraph stream rejects before its loop has finished writing: the checkpoints of
 * the steps it streamed are written one after another in the background and can land after the
 * rejection, on top of a rollback's restore or after the thread's status was read. Once a thread
 * is fenced, graph writes to it are dropped. A checkpoint write cannot carry a MongoDB condition
 * on the run's owner, so a run also binds its lease to its thread: a write that its lease's local
 * deadline no longer allows is dropped (and the run, told by the check, stops).
 *
 * Nothing is kept for a thread once its run has ended normally: per-thread state lives only
 * while a run writes, binds its lease or settles, and a fence lives from a cancel until the
 * thread's next run (or its deletion, `forget`).
 */
export class CheckpointGuard {
  /** The saver graphs are compiled with. Restores and deletes use the unguarded one. */
  readonly saver: BaseCheckpointSaver;
  private readonly fenced = new Set<string>();
  /**
   * Settled runs that wrote while they settled (by `configurable.run_id`): their writes stay
   * dropped after their thread moves on to its next run, whether the settle saw them go quiet
   * (a stall can look quiet) or gave up on them. The most recent MAX_RUNAWAYS are kept.
   */
  private readonly runaways = new Set<string>();
  private readonly inflight = new Map<string, Set<Promise<unknown>>>();
  private readonly watches = new Map<string, Watch>();
  /** Per thread, whether the lease of the run writing to it still allows a write. */
  private readonly leases = new Map<string, () => boolean>();
  private readonly settleTimeoutMs: number;
  private readonly logger: Logger;

  constructor(
    readonly inner: BaseCheckpointSaver,
    options: CheckpointGuardOptions = {},
  ) {
    this.settleTimeoutMs = options.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
    this.logger = options.logger ?? silentLogger();
    this.saver = new Proxy(inner, {
      get: (target, property) => {
        if (property === "put") {
          return (config: RunnableConfig, checkpoint: Checkpoint, ...rest: unknown[]) =>
            traced("runbus checkpoint put", config, () =>
              this.guarded(config, () => (target.put as (...args: unknown[]) => Promise<RunnableConfig>).call(target, config, checkpoint, ...rest), () => ({
                configurable: { ...config.configurable, checkpoint_id: checkpoint.id },
              })),
            );
        }
        if (property === "putWrites") {
          return (config: RunnableConfig, ...rest: unknown[]) =>
            traced("runbus checkpoint writes", config, () =>
              this.guarded(config, () => (target.putWrites as (...args: unknown[]) => Promise<void>).call(target, config, ...rest), () => undefined),
            );
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** Drops graph writes to the thread from now on; resolves once the writes under way are done. */
  async fence(threadId: string): Promise<void> {
    this.fenced.add(threadId);
    const pending = this.inflight.get(threadId);
    if (pending) await Promise.allSettled([...pending]);
  }

  /**
   * Lets the aborted graph finish the writes it has queued (until none has started for
   * `quietMs`), then fences the thread: an interrupted run keeps the checkpoints of the steps it
   * completed, and nothing lands after. A graph still writing after `settleTimeoutMs` is fenced
   * off at once — the thread and, by run id, the run — so its run can finish and free the thread.
   */
  async settle(threadId: string, quietMs = 50): Promise<void> {
    const deadline = Date.now() + this.settleTimeoutMs;
    const watch = this.watch(threadId);
    try {
      for (;;) {
        const pending = this.inflight.get(threadId);
        if (pending && !(await settledBy([...pending], deadline))) break;
        const before = watch.started;
        await sleep(Math.max(0, Math.min(quietMs, deadline - Date.now())));
        if (watch.started === before && !this.inflight.has(threadId)) {
          // Quiet for quietMs, perhaps only stalled (a slow call, a loaded machine): the runs that
          // wrote during the settle are over, and stay fenced by id once the thread's next run starts.
          for (const runId of watch.runIds) this.markRunaway(runId);
          // Nothing can start between this check and the fence: both happen in this turn.
          await this.fence(threadId);
          return;
        }
        if (Date.now() >= deadline) break;
      }
    } finally {
      this.unwatch(threadId, watch);
    }
    this.fenced.add(threadId);
    for (const runId of watch.runIds) this.markRunaway(runId);
    this.logger.warn(
      { threadId, runIds: [...watch.runIds], timeoutMs: this.settleTimeoutMs },
      "an aborted graph went on writing checkpoints: fenced off its thread without waiting for it",
    );
  }

  /**
   * Graph writes to the thread go through only while `allowsWrite()` says so. Returns the unbind
   * function, which leaves a later binding of the thread alone.
   */
  bindLease(threadId: string, allowsWrite: () => boolean): () => void {
    this.leases.set(threadId, allowsWrite);
    return () => {
      if (this.leases.get(threadId) === allowsWrite) this.leases.delete(threadId);
    };
  }

  /** A new run owns the thread: its graph writes go through again. */
  unfence(threadId: string): void {
    this.fenced.delete(threadId);
  }

  /** The thread was deleted, its runs over: nothing to fence on it any more (a runaway run stays fenced by its id). */
  forget(threadId: string): void {
    this.fenced.delete(threadId);
  }

  isFenced(threadId: string): boolean {
    return this.fenced.has(threadId);
  }

  /** Threads the guard keeps anything for: bounded by runs under way and fenced threads, not by history. */
  get size(): number {
    return new Set([...this.fenced, ...this.inflight.keys(), ...this.watches.keys(), ...this.leases.keys()]).size;
  }

  private guarded<T>(config: RunnableConfig, write: () => Promise<T>, dropped: () => T): Promise<T> {
    const threadId = config.configurable?.thread_id as string | undefined;
    if (threadId === undefined) return write();
    const runId = config.configurable?.run_id as string | undefined;
    if (this.fenced.has(threadId) || (runId !== undefined && this.runaways.has(runId))) return Promise.resolve(dropped());
    const allowsWrite = this.leases.get(threadId);
    if (allowsWrite && !allowsWrite()) return Promise.resolve(dropped());
    const watch = this.watches.get(threadId);
    if (watch) {
      watch.started++;
      if (runId !== undefined) watch.runIds.add(runId);
    }
    const pending = this.inflight.get(threadId) ?? new Set<Promise<unknown>>();
    this.inflight.set(threadId, pending);
    const promise = write();
    pending.add(promise);
    const done = () => {
      pending.delete(promise);
      if (pending.size === 0 && this.inflight.get(threadId) === pending) this.inflight.delete(threadId);
    };
    promise.then(done, done);
    return promise;
  }

  /** Fences a settled run off for good, keeping the most recent MAX_RUNAWAYS (older graphs are long gone). */
  private markRunaway(runId: string): void {
    this.runaways.delete(runId);
    this.runaways.add(runId);
    if (this.runaways.size > MAX_RUNAWAYS) this.runaways.delete(this.runaways.values().next().value as string);
  }

  private watch(threadId: string): Watch {
    const watch = this.watches.get(threadId) ?? { started: 0, runIds: new Set<string>(), watchers: 0 };
    watch.watchers++;
    this.watches.set(threadId, watch);
    return watch;
  }

  private unwatch(threadId: string, watch: Watch): void {
    if (--watch.watchers === 0 && this.watches.get(threadId) === watch) this.watches.delete(threadId);
  }
}

/** Settled runs kept fenced by id: one entry per cancelled run that wrote while it settled. */
const MAX_RUNAWAYS = 10_000;

/** Long enough for a loaded database to take an aborted graph's last few checkpoints. */
const DEFAULT_SETTLE_TIMEOUT_MS = 10_000;

/** Whether every one of `promises` settled before `deadline`. */
async function settledBy(promises: Array<Promise<unknown>>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([Promise.allSettled(promises).then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A checkpoint write as a span of the run that makes it (a no-op when tracing is off). */
function traced<T>(name: string, config: RunnableConfig, write: () => Promise<T>): Promise<T> {
  const threadId = config.configurable?.thread_id;
  const span = tracer().startSpan(name, { attributes: typeof threadId === "string" ? { "runbus.thread_id": threadId } : {} });
  return write().finally(() => span.end());
}


import type { RunnableConfig } from "@langchain/core/runnables";
import type { BaseCheckpointSaver, Checkpoint } from "@langchain/langgraph-checkpoint";

/**
 * Stands between graphs and the checkpointer so a cancelled run can be fenced off its thread.
 * An aborted LangGraph stream rejects before its loop has finished writing: the checkpoints of
 * the steps it streamed are written one after another in the background and can land after the
 * rejection, on top of a rollback's restore or after the thread's status was read. Once a thread
 * is fenced, graph writes to it are dropped.
 */
export class CheckpointGuard {
  /** The saver graphs are compiled with. Restores and deletes use the unguarded one. */
  readonly saver: BaseCheckpointSaver;
  private readonly fenced = new Set<string>();
  private readonly inflight = new Map<string, Set<Promise<unknown>>>();
  /** Writes started per thread, to see whether a write began during a quiet period. */
  private readonly started = new Map<string, number>();

  constructor(readonly inner: BaseCheckpointSaver) {
    this.saver = new Proxy(inner, {
      get: (target, property) => {
        if (property === "put") {
          return (config: RunnableConfig, checkpoint: Checkpoint, ...rest: unknown[]) =>
            this.guarded(config, () => (target.put as (...args: unknown[]) => Promise<RunnableConfig>).call(target, config, checkpoint, ...rest), () => ({
              configurable: { ...config.configurable, checkpoint_id: checkpoint.id },
            }));
        }
        if (property === "putWrites") {
          return (config: RunnableConfig, ...rest: unknown[]) =>
            this.guarded(config, () => (target.putWrites as (...args: unknown[]) => Promise<void>).call(target, config, ...rest), () => undefined);
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
   * completed, and nothing lands after.
   */
  async settle(threadId: string, quietMs = 50): Promise<void> {
    for (;;) {
      const pending = this.inflight.get(threadId);
      if (pending) await Promise.allSettled([...pending]);
      const before = this.started.get(threadId) ?? 0;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
      if ((this.started.get(threadId) ?? 0) === before && !this.inflight.has(threadId)) break;
    }
    await this.fence(threadId);
  }

  /** A new run owns the thread: its graph writes go through again. */
  unfence(threadId: string): void {
    this.fenced.delete(threadId);
    this.started.delete(threadId);
  }

  isFenced(threadId: string): boolean {
    return this.fenced.has(threadId);
  }

  private guarded<T>(config: RunnableConfig, write: () => Promise<T>, dropped: () => T): Promise<T> {
    const threadId = config.configurable?.thread_id as string | undefined;
    if (threadId === undefined) return write();
    if (this.fenced.has(threadId)) return Promise.resolve(dropped());
    const pending = this.inflight.get(threadId) ?? new Set<Promise<unknown>>();
    this.inflight.set(threadId, pending);
    this.started.set(threadId, (this.started.get(threadId) ?? 0) + 1);
    const promise = write();
    pending.add(promise);
    const done = () => {
      pending.delete(promise);
      if (pending.size === 0 && this.inflight.get(threadId) === pending) this.inflight.delete(threadId);
    };
    promise.then(done, done);
    return promise;
  }
}

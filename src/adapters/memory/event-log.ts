import { EventEmitter, on } from "node:events";
import { DEFAULT_STREAM_GAP_TIMEOUT_MS } from "../../config.js";
import { RunbusError } from "../../errors.js";
import type { RunEventSink } from "../../ports.js";
import type { RunEvent } from "../../protocol/events.js";

export interface EventLogReadOptions {
  fromSeq?: number;
  signal?: AbortSignal;
  /** How long a missing seq may stay missing once a later one is there; then the read fails with `stream_gap`. */
  gapTimeoutMs?: number;
}

/**
 * Run events kept in memory per run, readable from any seq and followed live: the in-process
 * stand-in for per-run Kafka topics. Like a topic, it keeps what is written, in the order it is
 * written, whatever its seq: a reader, not the log, finds a gap.
 */
export class MemoryEventLog implements RunEventSink {
  private readonly logs = new Map<string, RunEvent[]>();
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private readonly gapTimeoutMs: number;

  constructor(options: { gapTimeoutMs?: number } = {}) {
    this.gapTimeoutMs = options.gapTimeoutMs ?? DEFAULT_STREAM_GAP_TIMEOUT_MS;
  }

  async open(runId: string): Promise<void> {
    if (!this.logs.has(runId)) this.logs.set(runId, []);
  }

  async emit(event: RunEvent): Promise<void> {
    const log = this.logs.get(event.run_id);
    if (!log) throw new Error(`Run ${event.run_id} has no open event stream.`);
    log.push(event);
    this.emitter.emit(event.run_id, event);
    this.emitter.emit("*", event);
  }

  /** Like a per-run topic's high watermark: how many events the run's stream holds. */
  async nextSeq(runId: string): Promise<number> {
    return this.logs.get(runId)?.length ?? 0;
  }

  /** Events recorded so far for a run, in the order they were written. */
  events(runId: string): RunEvent[] {
    return [...(this.logs.get(runId) ?? [])];
  }

  /** Every event as it is emitted, for terminals and tests. */
  onEvent(listener: (event: RunEvent) => void): () => void {
    this.emitter.on("*", listener);
    return () => this.emitter.off("*", listener);
  }

  /**
   * Replays a run's events in seq order from `fromSeq`, de-duplicated by seq, then follows it live
   * until its `end` event. A seq still missing `gapTimeoutMs` after a later one was written fails
   * the read with `stream_gap`, as the Kafka reader does.
   */
  async *read(runId: string, options: EventLogReadOptions = {}): AsyncGenerator<RunEvent> {
    const gapTimeoutMs = options.gapTimeoutMs ?? this.gapTimeoutMs;
    const order = new SeqOrder(options.fromSeq ?? 0);
    // Subscribe before reading the backlog so no event falls between the two.
    const live = on(this.emitter, runId, options.signal ? { signal: options.signal } : {}) as AsyncIterableIterator<[RunEvent]>;
    let waiting: Promise<IteratorResult<[RunEvent]>> | null = null;
    try {
      for (const event of this.events(runId)) {
        for (const ready of order.accept(event)) {
          yield ready;
          if (ready.name === "end") return;
        }
      }
      for (;;) {
        const waitMs = order.gapSince === null ? null : order.gapSince + gapTimeoutMs - Date.now();
        if (waitMs !== null && waitMs <= 0) {
          throw new RunbusError(
            "stream_gap",
            `Run ${runId}'s stream is missing seq ${order.next}: seq ${order.firstEarly()} arrived and ${order.next} did not within ${gapTimeoutMs} ms.`,
          );
        }
        // A read that outlives the timer stays pending for the next turn: no event is lost to it.
        waiting ??= live.next();
        const result = waitMs === null ? await waiting : await within(waiting, waitMs);
        if (!result) continue;
        waiting = null;
        if (result.done) return;
        for (const ready of order.accept(result.value[0])) {
          yield ready;
          if (ready.name === "end") return;
        }
      }
    } finally {
      await live.return?.();
    }
  }
}

/** Puts a run's events in seq order, and tells since when a seq has been missing while a later one is there. */
class SeqOrder {
  private readonly early = new Map<number, RunEvent>();
  gapSince: number | null = null;

  constructor(public next: number) {}

  /** The events `event` makes ready, in seq order. */
  accept(event: RunEvent): RunEvent[] {
    if (event.seq < this.next || this.early.has(event.seq)) return [];
    this.early.set(event.seq, event);
    const ready: RunEvent[] = [];
    for (let found = this.early.get(this.next); found; found = this.early.get(this.next)) {
      this.early.delete(this.next);
      this.next++;
      ready.push(found);
    }
    if (this.early.size === 0) this.gapSince = null;
    else if (ready.length > 0 || this.gapSince === null) this.gapSince = Date.now();
    return ready;
  }

  firstEarly(): number {
    return Math.min(...this.early.keys());
  }
}

/** What `promise` resolves to, or null once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

import { RunbusError } from "../errors.js";
import type { StreamedEvent } from "./run-reader.js";

/**
 * Records of one run as they are read, for `inSeqOrder` to take: a reader pushes them (in any
 * order, with duplicates) and may fail; the consumer side waits for the next push.
 */
export class EventQueue {
  private readonly items: StreamedEvent[] = [];
  private wake: (() => void) | null = null;
  private failure: unknown = null;

  push(event: StreamedEvent): void {
    this.items.push(event);
    this.notify();
  }

  fail(error: unknown): void {
    this.failure ??= error;
    this.notify();
  }

  /** Wakes a waiting reader (an abort, a deadline). */
  notify(): void {
    this.wake?.();
    this.wake = null;
  }

  take(): StreamedEvent | undefined {
    if (this.failure) throw this.failure;
    return this.items.shift();
  }

  /** Resolves on the next push, failure or notify, or after `timeoutMs` when given. */
  async next(timeoutMs: number | null): Promise<void> {
    const timer = timeoutMs === null ? undefined : setTimeout(() => this.notify(), timeoutMs);
    await new Promise<void>((resolve) => (this.wake = resolve));
    clearTimeout(timer);
  }
}

/**
 * A run's events from `fromSeq` in seq order, de-duplicated by seq, until `end`. A seq still
 * missing `gapTimeoutMs` after a later one arrived fails with `stream_gap` instead of waiting for
 * it forever (DESIGN §7).
 */
export async function* inSeqOrder(
  queue: EventQueue,
  options: { runId: string; fromSeq: number; gapTimeoutMs: number; signal?: AbortSignal | undefined },
): AsyncGenerator<StreamedEvent> {
  const { runId, gapTimeoutMs } = options;
  let next = options.fromSeq;
  const pending = new Map<number, StreamedEvent>();
  /** Since when `next` has been missing while a later seq was there. */
  let gapSince: number | null = null;
  for (;;) {
    options.signal?.throwIfAborted();
    const event = queue.take();
    if (!event) {
      const waitMs = gapSince === null ? null : gapSince + gapTimeoutMs - Date.now();
      if (waitMs !== null && waitMs <= 0) {
        const later = Math.min(...pending.keys());
        throw new RunbusError("stream_gap", `Run ${runId}'s stream is missing seq ${next}: seq ${later} arrived and ${next} did not within ${gapTimeoutMs} ms.`);
      }
      await queue.next(waitMs);
      continue;
    }
    if (event.seq < next || pending.has(event.seq)) continue;
    pending.set(event.seq, event);
    const before = next;
    // Yield strictly in seq order: a record read early (another attempt's) waits its turn.
    for (let ready = pending.get(next); ready; ready = pending.get(next)) {
      pending.delete(next);
      next++;
      yield ready;
      if (ready.name === "end") return;
    }
    if (pending.size === 0) gapSince = null;
    else if (next !== before || gapSince === null) gapSince = Date.now();
  }
}

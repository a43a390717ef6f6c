import { EventEmitter, on } from "node:events";
import type { RunEventSink } from "../../ports.js";
import type { RunEvent } from "../../protocol/events.js";

/**
 * Run events kept in memory per run, readable from any seq and followed live: the in-process
 * stand-in for per-run Kafka topics.
 */
export class MemoryEventLog implements RunEventSink {
  private readonly logs = new Map<string, RunEvent[]>();
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async open(runId: string): Promise<void> {
    if (!this.logs.has(runId)) this.logs.set(runId, []);
  }

  async emit(event: RunEvent): Promise<void> {
    const log = this.logs.get(event.run_id);
    if (!log) throw new Error(`Run ${event.run_id} has no open event stream.`);
    if (event.seq !== log.length) throw new Error(`Run ${event.run_id} expected seq ${log.length}, got ${event.seq}.`);
    log.push(event);
    this.emitter.emit(event.run_id, event);
    this.emitter.emit("*", event);
  }

  async nextSeq(runId: string): Promise<number> {
    return this.logs.get(runId)?.length ?? 0;
  }

  /** Events recorded so far for a run. */
  events(runId: string): RunEvent[] {
    return [...(this.logs.get(runId) ?? [])];
  }

  /** Every event as it is emitted, for terminals and tests. */
  onEvent(listener: (event: RunEvent) => void): () => void {
    this.emitter.on("*", listener);
    return () => this.emitter.off("*", listener);
  }

  /** Replays a run's events from `fromSeq`, then follows it live until its `end` event. */
  async *read(runId: string, options: { fromSeq?: number; signal?: AbortSignal } = {}): AsyncGenerator<RunEvent> {
    let next = options.fromSeq ?? 0;
    // Subscribe before reading the backlog so no event falls between the two.
    const live = on(this.emitter, runId, options.signal ? { signal: options.signal } : {});
    try {
      for (const event of this.events(runId).slice(next)) {
        yield event;
        next = event.seq + 1;
        if (event.name === "end") return;
      }
      for await (const [event] of live as AsyncIterable<[RunEvent]>) {
        if (event.seq < next) continue;
        yield event;
        next = event.seq + 1;
        if (event.name === "end") return;
      }
    } finally {
      await live.return?.();
    }
  }
}

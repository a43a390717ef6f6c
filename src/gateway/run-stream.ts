import type { Context } from "hono";
import { stream } from "hono/streaming";
import { isRunbusError, messageOf } from "../errors.js";
import type { StreamedEvent } from "../client/run-reader.js";
import type { EndEvent } from "../protocol/events.js";
import type { GatewayBackend } from "./backend.js";
import { HEARTBEAT, SseEvents, formatFrame } from "./sse-events.js";

export interface RunStreamOptions {
  runId: string;
  threadId: string;
  /** The first seq to send (after a Last-Event-ID). */
  fromSeq: number;
  /** The modes the run was created with. */
  streamModes: readonly string[] | undefined;
  /** Only these modes (a join's `stream_mode`); null for all. */
  only?: readonly string[] | null;
  /** Cancel the run (interrupt) when the client goes away before its end. */
  cancelOnDisconnect: boolean;
  /** After the stream closes, whether or not the run ended. */
  onClose?: (ended: boolean) => Promise<void>;
  /** The run's events already opened (a run just created), with the controller that aborts them. */
  opened?: { events: AsyncIterable<StreamedEvent>; abort: AbortController };
}

/**
 * Streams a run's events from Kafka as server-sent events, from `fromSeq` to `end`, then closes the
 * body. Heartbeats are comment lines. A read that fails (a run topic that never appears, a gap
 * that does not fill) ends with an `error` event naming the code.
 */
export function streamRun(c: Context, backend: GatewayBackend, options: RunStreamOptions): Response {
  c.header("Content-Type", "text/event-stream");
  c.header("Cache-Control", "no-cache");
  c.header("Connection", "keep-alive");
  c.header("X-Accel-Buffering", "no");
  return stream(c, async (sse) => {
    const abort = options.opened?.abort ?? new AbortController();
    let ended = false;
    sse.onAbort(() => {
      abort.abort();
      if (options.cancelOnDisconnect && !ended) {
        backend.client.runs.cancel(options.threadId, options.runId, "interrupt").catch((error: unknown) => {
          backend.logger.warn({ run_id: options.runId, err: messageOf(error) }, "cancel on disconnect failed");
        });
      }
    });
    const heartbeat = setInterval(() => void sse.write(HEARTBEAT).catch(() => undefined), backend.heartbeatMs);
    const events = new SseEvents(options.streamModes, options.only ?? null);
    try {
      const source = options.opened?.events ?? backend.client.runs.stream(options.runId, { fromSeq: options.fromSeq, signal: abort.signal });
      for await (const event of source) {
        for (const frame of events.frames(event)) await sse.write(formatFrame(frame));
        if (event.name === "end") {
          ended = true;
          break;
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) {
        backend.logger.warn({ run_id: options.runId, err: messageOf(error) }, "run stream failed");
        const code = isRunbusError(error) ? error.code : "internal";
        await sse.write(formatFrame({ event: "error", data: { error: code, message: messageOf(error) } })).catch(() => undefined);
      }
    } finally {
      clearInterval(heartbeat);
      await options.onClose?.(ended).catch((error: unknown) => backend.logger.warn({ run_id: options.runId, err: messageOf(error) }, "after-stream step failed"));
    }
  });
}

/** Reads a run's stream to its `end` (from the start: the end may already be there), or the events given. */
export async function waitForEnd(backend: GatewayBackend, runId: string, signal?: AbortSignal, events?: AsyncIterable<StreamedEvent>): Promise<EndEvent> {
  for await (const event of events ?? backend.client.runs.stream(runId, signal ? { signal } : {})) {
    if (event.name === "end") return event.data as EndEvent;
  }
  throw new Error(`Run ${runId}'s stream ended without an end event.`);
}

/** The seq after a `Last-Event-ID` (`-1` or none: from the start). */
export function seqAfter(lastEventId: string | undefined): number | null {
  if (lastEventId === undefined || lastEventId === "" || lastEventId === "-1") return 0;
  const seq = Number(lastEventId);
  return Number.isInteger(seq) && seq >= 0 ? seq + 1 : null;
}

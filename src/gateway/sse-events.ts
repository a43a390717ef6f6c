import type { StreamedEvent } from "../client/run-reader.js";
import type { EndEvent } from "../protocol/events.js";
import { apiRunStatus } from "./shapes.js";

/** One server-sent event as the SDKs parse it: `event:`, `data:` (one line of JSON) and `id:`. */
export interface SseFrame {
  event: string;
  data: unknown;
  id?: string;
}

export function formatFrame(frame: SseFrame): string {
  const id = frame.id === undefined ? "" : `id: ${frame.id}\n`;
  return `event: ${frame.event}\ndata: ${JSON.stringify(frame.data)}\n${id}\n`;
}

/** What the SDK's idle watchdog counts as liveness. */
export const HEARTBEAT = ": heartbeat\n\n";

type Message = { id?: unknown; content?: unknown; [key: string]: unknown };

/**
 * Turns a run's runbus events into the API's SSE events. runbus streams both `messages-tuple` and
 * the older `messages` mode as `[chunk, metadata]` tuples named `messages`; a request for the older
 * mode gets `messages/metadata`, then `messages/partial` with the message accumulated so far, and
 * `messages/complete` once the run ends. `error` becomes `{error, message}`; `end` becomes
 * `{run_id, status}` with `rolling_back` shown as `running`.
 */
export class SseEvents {
  private readonly tuples: boolean;
  private readonly legacy: boolean;
  private readonly accumulated = new Map<string, { message: Message; suffix: string }>();
  private readonly filter: Set<string> | null;

  /**
   * `requested`: the stream modes the run was created with. `only`: the modes a join asked for
   * (null: all of them).
   */
  constructor(requested: readonly string[] | undefined, only: readonly string[] | null = null) {
    const modes = requested?.length ? requested : ["values"];
    this.legacy = modes.includes("messages");
    this.tuples = modes.includes("messages-tuple") || !this.legacy;
    this.filter = only?.length ? new Set(only.map((mode) => (mode === "messages-tuple" ? "messages" : mode))) : null;
  }

  frames(event: StreamedEvent): SseFrame[] {
    const id = String(event.seq);
    const [mode = event.name, ...namespace] = event.name.split("|");
    const suffix = namespace.length ? `|${namespace.join("|")}` : "";
    switch (mode) {
      case "metadata":
        return [{ event: "metadata", data: event.data, id }];
      case "error": {
        const error = event.data as { name?: string; message?: string };
        return [{ event: "error", data: { error: error.name ?? "Error", message: error.message ?? "" }, id }];
      }
      case "end":
        return [...this.completed(id), { event: "end", data: { run_id: event.run_id, status: apiRunStatus((event.data as EndEvent).status) }, id }];
      case "messages":
        if (!this.wants("messages")) return [];
        return [...(this.tuples ? [{ event: event.name, data: event.data, id }] : []), ...(this.legacy ? this.partial(event.data, suffix, id) : [])];
      default:
        return this.wants(mode) ? [{ event: event.name, data: event.data, id }] : [];
    }
  }

  private wants(mode: string): boolean {
    return this.filter === null || this.filter.has(mode);
  }

  private partial(data: unknown, suffix: string, id: string): SseFrame[] {
    const [chunk, metadata] = Array.isArray(data) ? (data as [Message, unknown]) : [data as Message, {}];
    if (!chunk || typeof chunk !== "object") return [];
    const key = typeof chunk.id === "string" ? chunk.id : `message-${this.accumulated.size}`;
    const seen = this.accumulated.get(key);
    const frames: SseFrame[] = [];
    if (!seen) frames.push({ event: `messages/metadata${suffix}`, data: { [key]: { metadata } }, id });
    const message = seen ? merge(seen.message, chunk) : { ...chunk };
    this.accumulated.set(key, { message, suffix });
    frames.push({ event: `messages/partial${suffix}`, data: [message], id });
    return frames;
  }

  private completed(id: string): SseFrame[] {
    const frames = [...this.accumulated.values()].map(({ message, suffix }) => ({ event: `messages/complete${suffix}`, data: [message], id }));
    this.accumulated.clear();
    return frames;
  }
}

/** A message chunk added to the message so far: string contents concatenate, the chunk's other fields win. */
function merge(message: Message, chunk: Message): Message {
  const content =
    typeof message.content === "string" && typeof chunk.content === "string"
      ? message.content + chunk.content
      : Array.isArray(message.content) && Array.isArray(chunk.content)
        ? [...(message.content as unknown[]), ...(chunk.content as unknown[])]
        : (chunk.content ?? message.content);
  return { ...message, ...chunk, content };
}

import type { StreamedEvent } from "../client/run-reader.js";
import type { TokenUsage } from "../ports.js";
import type { RunEvent } from "../protocol/events.js";
import { bold, dim, renderEvent, statusColor } from "./render.js";
import { TokenTally } from "./token-usage.js";

/** Where a view writes: process.stdout, or a fake in tests. */
export interface TerminalOut {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface StreamSummary {
  run_id: string | null;
  thread_id: string | null;
  /** The `end` status, or null when the stream stopped before `end`. */
  status: string | null;
  events: number;
  tokens: TokenUsage;
  durationMs: number;
  /** What the run paused on (`end.interrupts`): each waits for a resume. */
  interrupts: unknown[];
}

export interface StreamViewOptions {
  /** Draw a live progress line; default: when the output is a TTY. */
  progress?: boolean;
  now?: () => number;
}

const CLEAR_LINE = "\r\u001b[2K";

/**
 * Prints a run's stream as it arrives (`runbus run`, `runbus watch`): the model's tokens inline,
 * every other event as a line, and on a TTY a live progress line under them (events, elapsed
 * time, current node). Tracks what the closing summary needs.
 */
export class StreamView {
  private readonly tally = new TokenTally();
  private readonly progress: boolean;
  private readonly now: () => number;
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private inline = false;
  private progressShown = false;
  private events = 0;
  private node: string | null = null;
  private status: string | null = null;
  private interrupts: unknown[] = [];
  private runId: string | null = null;
  private threadId: string | null = null;
  /** The run's own first and last event times (from ce_time), so a replay reports the same duration. */
  private firstAt: number | null = null;
  private endAt: number | null = null;

  constructor(
    private readonly out: TerminalOut,
    options: StreamViewOptions = {},
  ) {
    this.progress = options.progress ?? Boolean(out.isTTY);
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  start(): void {
    if (!this.progress) return;
    this.drawProgress();
    this.timer = setInterval(() => this.drawProgress(), 250);
    this.timer.unref();
  }

  show(event: StreamedEvent): void {
    this.track(event);
    this.clearProgress();
    const rendered = renderEvent(toRunEvent(event));
    if ("inline" in rendered) {
      if (!this.inline) this.out.write(`     ${bold(this.node ?? "model")} ${dim("streams:")} `);
      this.inline = true;
      this.out.write(rendered.inline);
    } else if ("line" in rendered) {
      this.endInline();
      this.out.write(`${rendered.line}\n`);
    }
    this.drawProgress();
  }

  /** Stops the progress line and leaves the cursor at the start of a fresh line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clearProgress();
    this.endInline();
  }

  summary(): StreamSummary {
    const measured = this.firstAt !== null && this.endAt !== null ? this.endAt - this.firstAt : null;
    return {
      run_id: this.runId,
      thread_id: this.threadId,
      status: this.status,
      events: this.events,
      interrupts: this.interrupts,
      tokens: this.tally.total,
      durationMs: measured ?? this.now() - this.startedAt,
    };
  }

  private track(event: StreamedEvent): void {
    this.events++;
    this.tally.add(event);
    this.runId ??= event.run_id;
    this.threadId ??= event.headers.ce_subject ?? null;
    const at = event.headers.ce_time ? Date.parse(event.headers.ce_time) : NaN;
    if (!Number.isNaN(at)) this.firstAt ??= at;
    const mode = event.name.split("|")[0];
    if (event.name === "metadata") {
      this.threadId = (event.data as { thread_id?: string }).thread_id ?? this.threadId;
    } else if (event.name === "end") {
      this.status = (event.data as { status?: string }).status ?? "unknown";
      this.interrupts = (event.data as { interrupts?: unknown[] }).interrupts ?? [];
      if (!Number.isNaN(at)) this.endAt = at;
      this.node = null;
    } else if (mode === "messages") {
      const metadata = (event.data as [unknown, { langgraph_node?: string } | undefined])[1];
      if (metadata?.langgraph_node) this.node = metadata.langgraph_node;
    } else if (mode === "updates" && event.data && typeof event.data === "object") {
      const nodes = Object.keys(event.data).filter((key) => !key.startsWith("__"));
      if (nodes.length > 0) this.node = nodes.join(", ");
    } else if (mode === "tasks") {
      const name = (event.data as { name?: string } | null)?.name;
      if (name) this.node = name;
    }
  }

  private endInline(): void {
    if (this.inline) this.out.write("\n");
    this.inline = false;
  }

  // The progress line lives on its own line below the output, so it is drawn only while no
  // tokens are streaming inline (they show progress themselves) and cleared before each write.
  private drawProgress(): void {
    if (!this.progress || this.inline || this.status !== null) return;
    const seconds = ((this.now() - this.startedAt) / 1000).toFixed(1);
    const node = this.node ? ` · node ${this.node}` : "";
    this.out.write(`${CLEAR_LINE}${dim(`… ${this.events} events · ${seconds} s${node}`)}`);
    this.progressShown = true;
  }

  private clearProgress(): void {
    if (!this.progressShown) return;
    this.out.write(CLEAR_LINE);
    this.progressShown = false;
  }
}

/** The closing line of `runbus run` and `runbus watch`. */
export function summaryLine(summary: StreamSummary): string {
  const status = summary.status ?? "unfinished";
  const { input_tokens, output_tokens, total_tokens } = summary.tokens;
  return (
    `${bold("summary")} status ${statusColor(status)(status)}, ${(summary.durationMs / 1000).toFixed(2)} s, ` +
    `tokens ${total_tokens} (in ${input_tokens} / out ${output_tokens}), events ${summary.events}, ` +
    `run ${summary.run_id ?? "?"}, thread ${summary.thread_id ?? "?"}`
  );
}

function toRunEvent(event: StreamedEvent): RunEvent {
  return {
    run_id: event.run_id,
    thread_id: event.headers.ce_subject ?? "",
    seq: event.seq,
    name: event.name,
    data: event.data,
    at: event.headers.ce_time ?? "",
  };
}

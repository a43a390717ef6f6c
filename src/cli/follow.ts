import type { RunbusClient } from "../client/client.js";
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK } from "./context.js";
import { bold, dim } from "./render.js";
import { StreamView, summaryLine, type TerminalOut } from "./stream-view.js";

export interface FollowOptions {
  fromSeq?: number;
  signal?: AbortSignal;
  out?: TerminalOut;
  /** Shown in the summary when the stream itself does not say (before its metadata event). */
  threadId?: string;
}

/**
 * Prints a run's events from `fromSeq` until `end` and then its summary (`runbus run`, `runbus
 * watch`). Exit code: 0 when the run succeeded, 1 when it ended otherwise, 130 when the user
 * stopped following (the run itself goes on).
 */
export async function followRun(client: RunbusClient, runId: string, options: FollowOptions = {}): Promise<number> {
  const out = options.out ?? process.stdout;
  const view = new StreamView(out);
  view.start();
  let detached = false;
  try {
    const stream = client.runs.stream(runId, { ...(options.fromSeq ? { fromSeq: options.fromSeq } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    for await (const event of stream) view.show(event);
  } catch (error) {
    if (!options.signal?.aborted) throw error;
    detached = true;
  } finally {
    view.stop();
  }
  const summary = view.summary();
  summary.run_id ??= runId;
  summary.thread_id ??= options.threadId ?? null;
  out.write(`\n${summaryLine(summary)}\n`);
  if (summary.interrupts.length > 0 && summary.thread_id) out.write(resumeHint(summary.thread_id, summary.interrupts));
  if (detached) {
    out.write(`${dim(`stopped following; the run goes on: runbus watch ${runId}`)}\n`);
    return EXIT_INTERRUPTED;
  }
  return summary.status === "success" ? EXIT_OK : EXIT_FAILED;
}

/** What a paused run waits for, and the command that answers it. */
export function resumeHint(threadId: string, interrupts: readonly unknown[]): string {
  const lines = interrupts.map((interrupt) => `${bold("waiting")} ${JSON.stringify(interruptValue(interrupt))}`);
  const example = interrupts.length > 1 ? "'{\"<interrupt id>\": <value>, …}'" : "'<JSON value>'";
  lines.push(`${dim("resume with:")} runbus resume ${threadId} --value ${example}`);
  return `${lines.join("\n")}\n`;
}

/** An interrupt's value, with its id when it has one (a resume of several answers each by id). */
function interruptValue(interrupt: unknown): unknown {
  if (interrupt && typeof interrupt === "object" && "value" in interrupt) {
    const { id, value } = interrupt as { id?: unknown; value: unknown };
    return id === undefined ? value : { id, value };
  }
  return interrupt;
}

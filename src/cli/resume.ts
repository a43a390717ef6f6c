import type { ResumeOptions } from "../client/client.js";
import { RunbusError } from "../errors.js";
import { abortOnSignal, checkId, EXIT_FAILED, withClient } from "./context.js";
import { followRun } from "./follow.js";
import { bold, dim, red } from "./render.js";
import { DEFAULT_STREAM_MODES } from "./run.js";

export interface ResumeCommandOptions {
  value?: unknown;
  goto?: string[];
  update?: unknown;
  graph?: string;
  streamMode?: string[];
}

/**
 * `runbus resume <thread>`: answers the interrupt a thread waits on (or steers it with --goto and
 * --update), then streams the run that goes on until it ends or pauses again.
 */
export async function resumeCommand(thread: string, options: ResumeCommandOptions): Promise<number> {
  const threadId = checkId("thread", thread);
  if (options.value === undefined && !options.goto?.length && options.update === undefined) {
    throw new RunbusError("invalid_command", "Give --value (what the interrupt returns), --goto or --update");
  }
  if (options.update !== undefined && (typeof options.update !== "object" || options.update === null)) {
    throw new RunbusError("invalid_command", "--update must be a JSON object of state values, or a list of [channel, value] pairs");
  }
  const resume: ResumeOptions = {
    ...(options.goto?.length ? { goto: options.goto.length === 1 ? options.goto[0]! : options.goto } : {}),
    ...(options.update !== undefined ? { update: options.update as ResumeOptions["update"] } : {}),
    ...(options.graph ? { graph_id: options.graph } : {}),
    stream_mode: options.streamMode?.length ? options.streamMode : DEFAULT_STREAM_MODES,
  };
  const out = process.stdout;
  return withClient("resume", async (client) => {
    const reply = await client.runs.resume(threadId, options.value, resume);
    if (!reply.accepted) {
      out.write(`${red("rejected")} ${reply.code ?? "rejected"}: ${reply.reason ?? "no reason given"}\n`);
      return EXIT_FAILED;
    }
    out.write(`${bold("run")} ${reply.run_id} ${dim("resumes thread")} ${threadId} ${dim(reply.disposition ?? "accepted")}\n`);
    const interrupt = abortOnSignal();
    try {
      return await followRun(client, reply.run_id, { signal: interrupt.signal, threadId });
    } finally {
      interrupt.dispose();
    }
  });
}

import { randomUUID } from "node:crypto";
import type { RunCreateInput } from "../client/client.js";
import type { MultitaskStrategy } from "../protocol/commands.js";
import { abortOnSignal, checkId, EXIT_FAILED, withClient } from "./context.js";
import { followRun } from "./follow.js";
import { bold, dim, red } from "./render.js";

export interface RunOptions {
  input?: unknown;
  thread?: string;
  streamMode?: string[];
  strategy?: MultitaskStrategy;
  timeout?: number;
}

/** What `runbus run` asks for unless told otherwise: node updates as lines, tokens as they come. */
export const DEFAULT_STREAM_MODES = ["updates", "messages-tuple"];

/** `runbus run <graph>`: creates a run through Kafka and prints its stream until it ends. */
export async function runCommand(graphId: string, options: RunOptions): Promise<number> {
  const threadId = options.thread === undefined ? `cli-${randomUUID()}` : checkId("thread", options.thread);
  const request: RunCreateInput = {
    thread_id: threadId,
    graph_id: graphId,
    ...(options.input === undefined ? {} : { input: options.input }),
    stream_mode: options.streamMode?.length ? options.streamMode : DEFAULT_STREAM_MODES,
    ...(options.strategy ? { multitask_strategy: options.strategy } : {}),
    ...(options.timeout ? { timeout_ms: options.timeout } : {}),
  };
  const out = process.stdout;
  return withClient("run", async (client) => {
    const reply = await client.runs.create(request);
    if (!reply.accepted) {
      out.write(`${red("rejected")} ${reply.code ?? "rejected"}: ${reply.reason ?? "no reason given"}\n`);
      return EXIT_FAILED;
    }
    out.write(`${bold("run")} ${reply.run_id} ${dim("graph")} ${graphId} ${dim("thread")} ${threadId} ${dim(reply.disposition ?? "accepted")}\n`);
    const interrupt = abortOnSignal();
    try {
      return await followRun(client, reply.run_id, { signal: interrupt.signal, threadId });
    } finally {
      interrupt.dispose();
    }
  });
}

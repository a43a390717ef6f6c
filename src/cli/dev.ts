import { MemorySaver } from "@langchain/langgraph";
import { exampleGraph } from "../graph/example-graph.js";
import { createLogger } from "../logger.js";
import { createEmbeddedRuntime } from "../runtime.js";
import type { RunEvent } from "../protocol/events.js";
import { bold, dim, renderEvent, renderTransition, statusColor } from "./render.js";

export interface DevOptions {
  question: string;
  thread: string;
  tokenDelayMs: number;
}

/**
 * The embedded default: the example graph on the in-process runtime (memory bus, memory stores,
 * LangGraph's MemorySaver), its events and state transitions printed as they happen.
 */
export async function runDev(options: DevOptions): Promise<number> {
  const out = process.stdout;
  const runtime = createEmbeddedRuntime({
    graphs: { example: (opts) => exampleGraph({ ...opts, tokenDelayMs: options.tokenDelayMs }) },
    checkpointer: new MemorySaver(),
    logger: createLogger({ level: process.env.RUNBUS_LOG_LEVEL ?? "warn" }),
    workerId: "dev",
  });
  out.write(`${bold("runbus dev")} ${dim("— embedded runtime: in-process bus and stores, no server")}\n`);
  out.write(`${dim("graph")} example  ${dim("thread")} ${options.thread}  ${dim("question")} ${JSON.stringify(options.question)}\n\n`);

  let inline = false;
  const newline = () => {
    if (inline) out.write("\n");
    inline = false;
  };
  const stopAudit = runtime.adapters.audit.onTransition((t) => {
    newline();
    out.write(`${renderTransition(t)}\n`);
  });
  const print = (event: RunEvent) => {
    const rendered = renderEvent(event);
    if ("skip" in rendered) return;
    if ("inline" in rendered) {
      if (!inline) out.write(`${dim("     ")}${bold("agent")} ${dim("streams:")} `);
      inline = true;
      out.write(rendered.inline);
    } else {
      newline();
      out.write(`${rendered.line}\n`);
    }
  };

  const started = Date.now();
  const reply = await runtime.submit({
    type: "run.create",
    thread_id: options.thread,
    graph_id: "example",
    input: { messages: [{ role: "user", content: options.question }] },
    stream_mode: ["updates", "messages-tuple"],
  });
  if (!reply.accepted || !reply.run_id) {
    out.write(`run rejected: ${reply.code}: ${reply.reason}\n`);
    return 1;
  }
  let status = "unknown";
  for await (const event of runtime.adapters.events.read(reply.run_id)) {
    print(event);
    if (event.name === "end") status = (event.data as { status: string }).status;
  }
  // The thread is released just after `end`: wait for the run to be done, so that is printed too.
  await runtime.supervisor.activeRuns.get(reply.run_id)?.done;
  newline();
  stopAudit();

  const run = await runtime.adapters.runs.get(reply.run_id);
  const thread = await runtime.threads.get(options.thread);
  const tokens = run?.token_usage;
  out.write(
    `\n${bold("summary")} status ${statusColor(status)(status)}, ${((Date.now() - started) / 1000).toFixed(2)} s, ` +
      `tokens ${tokens?.total_tokens ?? 0} (in ${tokens?.input_tokens ?? 0} / out ${tokens?.output_tokens ?? 0}), ` +
      `events ${runtime.adapters.events.events(reply.run_id).length}, thread ${thread?.status} "${thread?.display_name ?? ""}"\n`,
  );
  return status === "success" ? 0 : 1;
}

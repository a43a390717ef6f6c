#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { MULTITASK_STRATEGIES } from "../protocol/commands.js";
import { THREAD_STATUSES } from "../protocol/run-status.js";
import { EXIT_USAGE, reportError } from "./context.js";
import type { ResumeCommandOptions } from "./resume.js";
import type { RunOptions } from "./run.js";
import type { ThreadsOptions } from "./threads.js";

/**
 * The runbus command line. Each command lives in its own module, loaded when it runs, so
 * `--help` and the light commands don't load LangGraph or the MongoDB driver.
 */

const program = new Command()
  .name("runbus")
  .description("LangGraph.js runs as XState actors on Apache Kafka, with MongoDB as the durable store.")
  .addHelpText(
    "after",
    "\nKafka commands read RUNBUS_KAFKA_BROKERS, RUNBUS_TOPIC_PREFIX and the other RUNBUS_* settings (see README.md).",
  )
  // Usage errors read like every other error: one line, with a code.
  .configureOutput({ outputError: (text, write) => write(`runbus: ${text.replace(/^error: /, "").trim().replace(/\.$/, "")} (usage)\n`) })
  .exitOverride();

/** Runs a command body; its result becomes the exit code, an error is printed as one line. */
function act<Args extends unknown[]>(body: (...args: Args) => Promise<number>): (...args: Args) => Promise<void> {
  return async (...args) => {
    try {
      process.exitCode = await body(...args);
    } catch (error) {
      process.exitCode = reportError(error);
    }
  };
}

function integer(name: string, min: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}.`);
    return parsed;
  };
}

function json(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(`not valid JSON (${error instanceof Error ? error.message : String(error)}).`);
  }
}

/** Repeatable and comma-separated: `--stream-mode updates values` or `--stream-mode updates,values`. */
function modes(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(",").map((mode) => mode.trim()).filter(Boolean)];
}

program
  .command("dev")
  .description("run the bundled example graph on the embedded runtime (no server needed) and print its events")
  .option("-q, --question <text>", "what to ask the example agent", "What is a thread?")
  .option("-t, --thread <id>", "thread id", "dev-thread")
  .option("--token-delay <ms>", "pause between streamed words", (v) => Number(v), 25)
  .action(
    act(async (opts: { question: string; thread: string; tokenDelay: number }) => {
      const { runDev } = await import("./dev.js");
      return runDev({ question: opts.question, thread: opts.thread, tokenDelayMs: opts.tokenDelay });
    }),
  );

program
  .command("worker")
  .description("serve runs from Kafka until SIGTERM/SIGINT, then drain (RUNBUS_SHUTDOWN_GRACE_MS) and exit 0")
  .option("-g, --graphs <file>", "graphs module or runbus.config.json (default: RUNBUS_GRAPHS, ./runbus.config.json, else the example graph)")
  .action(
    act(async (opts: { graphs?: string }) => {
      const { workerCommand } = await import("./worker.js");
      return workerCommand(opts);
    }),
  );

program
  .command("gateway")
  .description("serve the LangGraph Agent Server API (HTTP/SSE) on Kafka and MongoDB until SIGTERM/SIGINT")
  .option("-g, --graphs <file>", "the graphs module the workers serve (for state, history and drawings)")
  .option("-p, --port <n>", "port (default: RUNBUS_GATEWAY_PORT, else 2024; 0 for any free one)", integer("--port", 0))
  .option("-H, --host <host>", "address to bind (default: RUNBUS_GATEWAY_HOST, else 127.0.0.1)")
  .action(
    act(async (opts: { graphs?: string; port?: number; host?: string }) => {
      const { gatewayCommand } = await import("./gateway.js");
      return gatewayCommand(opts);
    }),
  );

program
  .command("acls")
  .description("print the kafka-acls.sh commands that grant a role (worker, gateway, producer, reader, auditor) exactly what it needs under RUNBUS_TOPIC_PREFIX")
  .argument("<role>", "worker | gateway | producer | reader | auditor")
  .argument("<principal>", "the Kafka principal, e.g. User:runbus-worker")
  .option("--required", "only the ACLs without which the role fails")
  .action(
    act(async (role: string, principal: string, opts: { required?: boolean }) => {
      const { aclsCommand } = await import("./acls.js");
      return aclsCommand(role, principal, opts);
    }),
  );

program
  .command("run")
  .description("create a run and stream it to the terminal until it ends (exit 0 on success)")
  .argument("<graph>", "graph id")
  .option("-i, --input <json>", "the run's input, as JSON", json)
  .option("-t, --thread <id>", "thread id (default: a new thread)")
  .option("-m, --stream-mode <modes...>", "stream modes (default: updates messages-tuple)", modes)
  .addOption(new Option("-s, --strategy <strategy>", "what to do when the thread is busy").choices(MULTITASK_STRATEGIES))
  .option("--timeout <ms>", "end the run as timeout after this long", integer("--timeout", 1))
  .action(
    act(async (graph: string, opts: RunOptions) => {
      const { runCommand } = await import("./run.js");
      return runCommand(graph, opts);
    }),
  );

program
  .command("resume")
  .description("answer the interrupt a thread waits on (or steer it), then stream the run until it ends or pauses again")
  .argument("<thread>", "thread id")
  .option("-v, --value <json>", "what the pending interrupt() returns, as JSON (for several: {\"<interrupt id>\": value})", json)
  .option("--goto <nodes...>", "continue at these nodes (LangGraph's Command goto)", modes)
  .option("--update <json>", "state values to write before going on (LangGraph's Command update), as JSON", json)
  .option("-g, --graph <id>", "graph id (default: the graph of the thread's latest run)")
  .option("-m, --stream-mode <modes...>", "stream modes (default: updates messages-tuple)", modes)
  .action(
    act(async (thread: string, opts: ResumeCommandOptions) => {
      const { resumeCommand } = await import("./resume.js");
      return resumeCommand(thread, opts);
    }),
  );

program
  .command("watch")
  .description("replay a run's events, then follow them until it ends")
  .argument("<run_id>", "run id")
  .option("--from-seq <n>", "start at this event seq", integer("--from-seq", 0))
  .action(
    act(async (runId: string, opts: { fromSeq?: number }) => {
      const { watchCommand } = await import("./watch.js");
      return watchCommand(runId, opts);
    }),
  );

program
  .command("cancel")
  .description("interrupt a run (or roll it back) and print the reply")
  .argument("<run_id>", "run id")
  .requiredOption("-t, --thread <id>", "the run's thread id")
  .option("--rollback", "roll the thread back to where it was before the run")
  .action(
    act(async (runId: string, opts: { thread: string; rollback?: boolean }) => {
      const { cancelCommand } = await import("./cancel.js");
      return cancelCommand(runId, opts);
    }),
  );

program
  .command("audit")
  .description("print a run's state transitions from the audit topic and check its path against the run machine")
  .argument("<run_id>", "run id")
  .action(
    act(async (runId: string) => {
      const { auditCommand } = await import("./audit.js");
      return auditCommand(runId);
    }),
  );

program
  .command("journal")
  .description("print a run's journal in order: the human message, model calls, tool results, errors (from MongoDB)")
  .argument("<run_id>", "run id")
  .action(
    act(async (runId: string) => {
      const { journalCommand } = await import("./journal.js");
      return journalCommand(runId);
    }),
  );

program
  .command("threads")
  .description("list threads (from MongoDB: needs RUNBUS_MONGODB_URI)")
  .addOption(new Option("--status <status>", "only threads in this status").choices(THREAD_STATUSES))
  .option("--limit <n>", "at most this many", integer("--limit", 1), 20)
  .action(
    act(async (opts: ThreadsOptions) => {
      const { threadsCommand } = await import("./threads.js");
      return threadsCommand(opts);
    }),
  );

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Commander has already printed its message (or the help); only the exit code is left.
  process.exitCode = error instanceof CommanderError ? (error.exitCode === 0 ? 0 : EXIT_USAGE) : reportError(error);
}
// Kafka clients can leave timers behind; the command is done, so the process is too.
process.exit(process.exitCode ?? 0);

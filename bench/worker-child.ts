/**
 * A runbus worker in a process of its own, as it runs in production: `Worker.create(...).start()`
 * over Kafka, with MongoDB stores (or memory stores, for the peer comparison). Driven over IPC.
 *   argv[2]: JSON WorkerChildOptions
 */
import { MemorySaver } from "@langchain/langgraph";
import type { SpanExporter } from "@opentelemetry/sdk-trace-node";
import type { CommandStartedEvent, CommandSucceededEvent } from "mongodb";
import { openMongoStores } from "../src/adapters/mongo/stores.js";
import { MemoryJournal } from "../src/adapters/memory/journal.js";
import { MemoryRunStore } from "../src/adapters/memory/run-store.js";
import { MemoryThreadStore } from "../src/adapters/memory/thread-store.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { Worker, type WorkerStores } from "../src/worker.js";
import { workerGraphs } from "./graphs.js";
import { serveParent } from "./lib/child.js";

export interface WorkerChildOptions {
  brokers: string[];
  /** Unset: memory stores. */
  mongodbUri?: string;
  dbName: string;
  topicPrefix: string;
  mode: "per-run" | "shared";
  streamTokens: number;
  /** Count MongoDB commands by name and collection (the profiling pass). */
  monitorCommands?: boolean;
  /**
   * Register the OpenTelemetry Node SDK, as `startTracing` does, but with an exporter that drops
   * the spans: the cost of recording them, without a collector's.
   */
  tracing?: boolean;
}

const options = JSON.parse(process.argv[2] ?? "{}") as WorkerChildOptions;
const logger = createLogger({ level: process.env.BENCH_WORKER_LOG_LEVEL ?? "warn", name: "bench-worker" });
const commands = new Map<string, { count: number; ms: number }>();
let exportedSpans = 0;

/** A NodeTracerProvider with a BatchSpanProcessor (as in production) over an exporter that discards. */
async function registerTracing(): Promise<{ forceFlush(): Promise<void>; shutdown(): Promise<void> }> {
  const { BatchSpanProcessor, NodeTracerProvider } = await import("@opentelemetry/sdk-trace-node");
  const discard: SpanExporter = {
    export: (spans, done) => {
      exportedSpans += spans.length;
      done({ code: 0 }); // ExportResultCode.SUCCESS
    },
    shutdown: async () => {},
  };
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard)] });
  provider.register();
  return provider;
}
const tracing = options.tracing ? await registerTracing() : null;

async function stores(): Promise<WorkerStores> {
  if (!options.mongodbUri) {
    return { threads: new MemoryThreadStore(), runs: new MemoryRunStore(), journal: new MemoryJournal(), checkpointer: new MemorySaver(), close: async () => {} };
  }
  const opened = await openMongoStores({
    uri: options.mongodbUri,
    dbName: options.dbName,
    logger,
    ...(options.monitorCommands ? { clientOptions: { monitorCommands: true } } : {}),
  });
  if (options.monitorCommands) {
    const started = new Map<number, string>();
    opened.client.on("commandStarted", (event: CommandStartedEvent) => {
      const collection = event.command[event.commandName];
      started.set(event.requestId, `${event.commandName} ${typeof collection === "string" ? collection : ""}`.trim());
    });
    opened.client.on("commandSucceeded", (event: CommandSucceededEvent) => {
      const key = started.get(event.requestId) ?? event.commandName;
      started.delete(event.requestId);
      const entry = commands.get(key) ?? { count: 0, ms: 0 };
      entry.count += 1;
      entry.ms += event.duration;
      commands.set(key, entry);
    });
  }
  return opened;
}

const config = loadConfig(
  {},
  {
    kafka: { brokers: options.brokers },
    topicPrefix: options.topicPrefix,
    eventTopicMode: options.mode,
    shutdownGraceMs: 10_000,
    logLevel: "warn",
  },
);
const worker = await Worker.create(config, { graphs: workerGraphs(options.streamTokens), logger, stores: await stores() });
await worker.start();

serveParent(async (message) => {
  if (message.type === "mark") {
    // The CPU profiler's clock (monotonic, µs): lets the profile be cut to the measured phase.
    process.send?.({ type: "mark", us: Number(process.hrtime.bigint() / 1000n) });
  } else if (message.type === "mongo-stats") {
    process.send?.({ type: "mongo-stats", commands: Object.fromEntries(commands) });
    commands.clear();
  } else if (message.type === "trace-stats") {
    await tracing?.forceFlush();
    process.send?.({ type: "trace-stats", exportedSpans });
  } else if (message.type === "stop") {
    await worker.stop(5000);
    await tracing?.shutdown();
    process.exit(0);
  }
});
process.send?.({ type: "ready", workerId: worker.id });

/** A runbus worker process on the benchmark servers, with the driver that feeds and follows it. */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { MongoClient } from "mongodb";
import type { WorkerChildOptions } from "../worker-child.js";
import { Child } from "./child.js";
import { benchRoot, resultsDir } from "./env.js";
import { RunDriver, type RunCreate } from "./kafka.js";
import { Reaper } from "./reaper.js";
import type { BenchServers } from "./servers.js";

export interface RunbusSetup extends RunbusWorker {
  driver: RunDriver;
  /** Sends a run and waits for it; its thread's documents are reaped a moment later. */
  run(command: RunCreate, headers?: Record<string, string>): ReturnType<RunDriver["run"]>;
}

export interface RunbusOptions {
  mode: "per-run" | "shared";
  streamTokens?: number;
  memoryStores?: boolean;
  monitorCommands?: boolean;
  nodeArgs?: string[];
  /** false: the caller flushes the reaper between runs (sequential benchmarks). */
  backgroundReaper?: boolean;
  /** The worker records every span of sampled traces and discards them (see worker-child.ts). */
  tracing?: boolean;
  /**
   * Another worker of a running one: its topics (and so its consumer group) and its database.
   * The first worker's reaper and stop look after the documents; stop the joiners first.
   */
  join?: { prefix: string; dbName: string };
}

/** A worker child and the reaper of its database, without a driver (the caller brings its own client). */
export interface RunbusWorker {
  worker: Child;
  /** Unset for memory stores. */
  reaper: Reaper | null;
  prefix: string;
  dbName: string;
  stop(): Promise<void>;
}

export async function startWorker(servers: BenchServers, options: RunbusOptions): Promise<RunbusWorker> {
  const id = randomUUID().slice(0, 8);
  const prefix = options.join?.prefix ?? `bench${id}.`;
  const dbName = options.join?.dbName ?? `bench_runbus_${id}`;
  const childOptions: WorkerChildOptions = {
    brokers: servers.brokers,
    ...(options.memoryStores ? {} : { mongodbUri: servers.mongodbUri }),
    dbName,
    topicPrefix: prefix,
    mode: options.mode,
    streamTokens: options.streamTokens ?? 10,
    monitorCommands: options.monitorCommands ?? false,
    tracing: options.tracing ?? false,
  };
  const worker = Child.start(`worker(${options.mode})`, resolve(benchRoot, "worker-child.ts"), {
    args: [JSON.stringify(childOptions)],
    nodeArgs: options.nodeArgs ?? [],
    logFile: resolve(resultsDir, "logs", `worker-${options.mode}-${id}.log`),
  });
  await worker.next("ready", 120_000);
  const client = options.memoryStores || options.join ? null : await new MongoClient(servers.mongodbUri).connect();
  const reaper = client ? new Reaper(client.db(dbName)) : null;
  if (options.backgroundReaper !== false) reaper?.start();
  return {
    worker,
    reaper,
    prefix,
    dbName,
    stop: async () => {
      await worker.stop();
      await reaper?.stop();
      await client?.db(dbName).dropDatabase().catch(() => undefined);
      await client?.close();
    },
  };
}

export async function startRunbus(servers: BenchServers, options: RunbusOptions): Promise<RunbusSetup> {
  const started = await startWorker(servers, options);
  const driver = new RunDriver(servers.brokers, started.prefix, options.mode);
  try {
    await driver.start();
  } catch (error) {
    await started.stop();
    throw error;
  }
  const { reaper } = started;
  return {
    ...started,
    driver,
    run: async (command, headers) => {
      try {
        return await driver.run(command, headers);
      } finally {
        reaper?.add(command.thread_id);
      }
    },
    stop: async () => {
      await driver.stop();
      await started.stop();
    },
  };
}

export function benchId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

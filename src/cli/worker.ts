import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { exampleGraph } from "../graph/example-graph.js";
import { loadGraphs } from "../graph/load-graphs.js";
import type { GraphEntry } from "../graph/registry.js";
import type { Logger } from "../logger.js";
import { RunbusMetrics } from "../ops/metrics.js";
import { startTracing } from "../ops/tracing.js";
import { Worker } from "../worker.js";
import { startOps } from "./ops.js";
import { cliLogger, EXIT_OK, kafkaConfig } from "./context.js";

export interface WorkerCommandOptions {
  graphs?: string;
}

export interface ResolvedGraphs {
  graphs: Record<string, GraphEntry>;
  /** Where they came from, for the log. */
  source: string;
}

/**
 * The graphs to serve: `--graphs`, else RUNBUS_GRAPHS, else ./runbus.config.json when present,
 * else the bundled example graph under the id `example`.
 */
export async function resolveGraphs(spec: string | undefined, cwd = process.cwd()): Promise<ResolvedGraphs> {
  if (spec) return { graphs: await loadGraphs(spec, cwd), source: resolve(cwd, spec) };
  const conventional = resolve(cwd, "runbus.config.json");
  if (existsSync(conventional)) return { graphs: await loadGraphs(conventional, cwd), source: conventional };
  return { graphs: { example: exampleGraph }, source: "bundled example graph" };
}

/**
 * `runbus worker`: serves commands until SIGTERM or SIGINT, then drains: stops taking commands,
 * lets hosted runs finish within RUNBUS_SHUTDOWN_GRACE_MS, interrupts the rest, and exits 0.
 * A second signal exits at once.
 */
export async function workerCommand(options: WorkerCommandOptions): Promise<number> {
  const config = kafkaConfig("worker");
  const logger = cliLogger(config.logLevel);
  const stopSignal = firstSignal(logger);
  // A signal while the broker or database is still being waited for ends the wait.
  const starting = new AbortController();
  void stopSignal.then(() => starting.abort());
  const { graphs, source } = await resolveGraphs(options.graphs ?? config.graphsModule);
  const stopTracing = await startTracing("runbus-worker");
  const metrics = new RunbusMetrics();
  const worker = await Worker.create(config, { graphs, logger, signal: starting.signal, metrics });
  // Before the worker starts: a port in use is a setting to fix, not a reason to half-start.
  const ops = worker.checks ? await startOps(config, { metrics, liveness: worker.checks.liveness, readiness: worker.checks.readiness, logger }) : null;
  await worker.start({ signal: starting.signal });
  logger.info({ worker_id: worker.id, graphs: Object.keys(graphs), source, prefix: config.topicPrefix }, "worker started");

  const signal = await stopSignal;
  logger.info(
    { workerId: worker.id, signal, graceMs: config.shutdownGraceMs },
    "worker stopping: no new commands; runs get the grace period, then are interrupted",
  );
  await worker.stop(config.shutdownGraceMs);
  await ops?.close();
  await stopTracing?.();
  return EXIT_OK;
}

/** Resolves with the first SIGTERM or SIGINT; a second one ends the process at once. */
function firstSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolvePromise) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        logger.warn({ signal }, "second signal while stopping: exiting without waiting for runs");
        process.exit(128 + (signal === "SIGINT" ? 2 : 15));
      }
      received = true;
      resolvePromise(signal);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

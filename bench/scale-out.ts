/**
 * 10. Scale-out: 1, 2 and 3 worker processes on the same servers, sharing one set of topics and
 * one database, the command topic split between them by their consumer group; a closed loop of
 * 64 threads (8 below BENCH_SCALE 0.2) of the two-node graph, shared event topic. For each: runs/s
 * and CPU ms per finished run of every process (workers, broker, store server, and the driver
 * that feeds them), from /proc, so work that coordination adds — or moves to the servers — shows
 * even where the 2 cores cap throughput. Baseline: the in-process loop (`graph.invoke` with
 * MongoDBSaver on the same server) at the same concurrency, with its own process's and the store
 * server's CPU per run.
 */
import { twoNodeGraph } from "./graphs.js";
import { humanInput, openBaselineStore } from "./lib/baseline.js";
import { SCALE, log, scaledMs } from "./lib/env.js";
import { RunDriver } from "./lib/kafka.js";
import { closedLoop, type LoadResult } from "./lib/load.js";
import { cpuMeter, type CpuUse } from "./lib/proc-cpu.js";
import type { BenchResult, Target } from "./lib/results.js";
import { benchId, startWorker, type RunbusWorker } from "./lib/runbus.js";
import type { BenchServers } from "./lib/servers.js";
import { ratio, round, summarize } from "./lib/stats.js";

export const WORKER_COUNTS = [1, 2, 3] as const;
const CONCURRENCY = SCALE >= 0.2 ? 64 : 8;

/** One load: its throughput and where its CPU went. */
export interface ScaleCell {
  workers: number;
  runs_per_s: number;
  run_p50_ms: number | null;
  run_p95_ms: number | null;
  failed: number;
  /** Runs finished in the window, which the CPU was measured over. */
  finished: number;
  /** CPU ms per finished run by process: `worker` is all workers together, `system` workers + broker + store server. */
  cpu_ms_per_run: Record<string, number | null>;
  /** Runs/s of each of the two passes (baseline, 1, 2, 3, then 3, 2, 1 workers, baseline). */
  runs_per_s_passes: number[];
  /** Each worker's share of the finished runs' CPU, to show how evenly the group split the load. */
  worker_cpu_share: number[];
  core_share: Record<string, number>;
}

export interface ScaleOutSummary {
  concurrency: number;
  baseline: Omit<ScaleCell, "workers" | "worker_cpu_share">;
  cells: ScaleCell[];
  /** Runs/s of N workers over 1 worker's, and their system CPU per run over 1 worker's. */
  scaling: Array<{ workers: number; runs_per_s_ratio: number | null; system_cpu_per_run_ratio: number | null; system_cpu_per_run_vs_baseline: number | null }>;
}

export async function scaleOutBenchmark(servers: BenchServers): Promise<BenchResult> {
  const warmupMs = scaledMs(6, 1);
  const windowMs = scaledMs(10, 2);
  // Each load twice, in the order baseline, 1, 2, 3, 3, 2, 1 workers, baseline: a broker and store
  // server that warm up (JIT, caches) or a machine that slows down weigh on every load alike.
  const baselinePasses = [await baselineLoad(servers, warmupMs, windowMs)];
  const passes: Array<{ count: number; measured: Measured; workerNames: string[] }> = [];
  for (const count of [...WORKER_COUNTS, ...[...WORKER_COUNTS].reverse()]) {
    log(`scale-out: ${count} worker(s), ${CONCURRENCY} threads`);
    passes.push({ count, ...(await workersLoad(servers, count, warmupMs, windowMs)) });
  }
  baselinePasses.push(await baselineLoad(servers, warmupMs, windowMs));
  const baselineMerged = mergeMeasured(baselinePasses);
  const baseline = { ...cellOf(baselineMerged.load, baselineMerged.cpu, baselineMerged.finished, ["baseline", "mongodb"], ["baseline"]), runs_per_s_passes: baselinePasses.map((pass) => pass.load.runsPerSecond) };
  const cells: ScaleCell[] = WORKER_COUNTS.map((count) => {
    const both = passes.filter((pass) => pass.count === count);
    const workerNames = both[0]!.workerNames;
    const merged = mergeMeasured(both.map((pass) => pass.measured));
    const cell = cellOf(merged.load, merged.cpu, merged.finished, [...workerNames, "kafka", "mongodb"], workerNames);
    const workerMs = workerNames.map((name) => merged.cpu.ms[name] ?? 0);
    const totalWorkerMs = workerMs.reduce((a, b) => a + b, 0);
    return {
      workers: count,
      ...cell,
      runs_per_s_passes: both.map((pass) => pass.measured.load.runsPerSecond),
      worker_cpu_share: workerMs.map((ms) => (totalWorkerMs ? round(ms / totalWorkerMs) : 0)),
    };
  });

  const one = cells[0]!;
  const scaling = cells.map((cell) => ({
    workers: cell.workers,
    runs_per_s_ratio: ratio(cell.runs_per_s, one.runs_per_s),
    system_cpu_per_run_ratio: ratio(cell.cpu_ms_per_run.system, one.cpu_ms_per_run.system),
    system_cpu_per_run_vs_baseline: ratio(cell.cpu_ms_per_run.system, baseline.cpu_ms_per_run.system),
  }));
  const summary: ScaleOutSummary = { concurrency: CONCURRENCY, baseline, cells, scaling };
  const targets: Target[] = cells.map((cell) => ({
    name: `scale-out ${cell.workers} worker(s), ${CONCURRENCY} threads`,
    target: "stated (issue 13: runs/s and CPU per run for 1, 2, 3 workers)",
    measured: `${cell.runs_per_s} runs/s (×${ratio(cell.runs_per_s, one.runs_per_s)} of 1 worker); system CPU ${cell.cpu_ms_per_run.system ?? "—"} ms/run (worker ${cell.cpu_ms_per_run.worker ?? "—"}, Kafka ${cell.cpu_ms_per_run.kafka ?? "—"}, store ${cell.cpu_ms_per_run.mongodb ?? "—"}); baseline ${baseline.cpu_ms_per_run.system ?? "—"} ms/run`,
    pass: null,
  }));
  return {
    name: "scale-out",
    title: "Scale-out: 1, 2 and 3 workers on the same servers",
    config: { concurrency: CONCURRENCY, warmupMs, windowMs, workerCounts: WORKER_COUNTS, mode: "shared", graph: "two_node" },
    summary: summary as unknown as Record<string, unknown>,
    samples: {},
    targets,
    notes: [
      "CPU per run is each process's user + system time (/proc) over the window, divided by the runs finished in it; the 2 cores are shared by every process, so runs/s is capped by the sum of CPU per run.",
    ],
  };
}

/** The in-process loop: `graph.invoke` with MongoDBSaver, in this process. */
async function baselineLoad(servers: BenchServers, warmupMs: number, windowMs: number): Promise<Measured> {
  log(`scale-out: in-process baseline, ${CONCURRENCY} threads`);
  const store = await openBaselineStore(servers.mongodbUri, `bench_scale_${Date.now()}`);
  try {
    const graph = twoNodeGraph({ checkpointer: store.saver });
    return await measure({ baseline: process.pid, mongodb: servers.pids().mongodb }, warmupMs, windowMs, async () => {
      const threadId = benchId("base");
      await graph.invoke(humanInput(), { configurable: { thread_id: threadId } });
      store.reaper.add(threadId);
    });
  } finally {
    await store.close();
  }
}

/** N workers sharing one set of topics and one database, under the closed loop. */
async function workersLoad(servers: BenchServers, count: number, warmupMs: number, windowMs: number): Promise<{ measured: Measured; workerNames: string[] }> {
  const serverPids = servers.pids();
  const workers: RunbusWorker[] = [];
  let driver: RunDriver | null = null;
  try {
    const first = await startWorker(servers, { mode: "shared" });
    workers.push(first);
    // The others join the first one's topics, consumer group and database.
    for (let i = 1; i < count; i++) workers.push(await startWorker(servers, { mode: "shared", join: { prefix: first.prefix, dbName: first.dbName } }));
    driver = new RunDriver(servers.brokers, first.prefix, "shared");
    await driver.start();
    const run = driver.run.bind(driver);
    const workerPids = Object.fromEntries(workers.map((w, i) => [`worker${i + 1}`, w.worker.pid]));
    const measured = await measure({ ...workerPids, kafka: serverPids.kafka, mongodb: serverPids.mongodb, driver: process.pid }, warmupMs, windowMs, async () => {
      const threadId = benchId("thread");
      try {
        const timing = await run({ run_id: benchId("run"), thread_id: threadId, graph_id: "two_node", input: humanInput(), stream_mode: ["values"] });
        if (timing.status && timing.status !== "success") throw new Error(`run ended ${timing.status}`);
      } finally {
        first.reaper?.add(threadId);
      }
    });
    return { measured, workerNames: Object.keys(workerPids) };
  } finally {
    await driver?.stop();
    // The joiners first: the first worker's stop drops the shared database.
    for (const worker of workers.reverse()) await worker.stop();
  }
}

interface Measured {
  load: LoadResult;
  cpu: CpuUse;
  finished: number;
}

/** Two passes of one load as one: runs/s over both windows, CPU and runs summed. */
function mergeMeasured(passes: Measured[]): Measured {
  const windowMs = passes.reduce((sum, pass) => sum + pass.load.windowMs, 0);
  const completed = passes.reduce((sum, pass) => sum + pass.load.completed, 0);
  const samples = passes.flatMap((pass) => pass.load.samples);
  const ms: Record<string, number> = {};
  for (const pass of passes) for (const [name, value] of Object.entries(pass.cpu.ms)) ms[name] = (ms[name] ?? 0) + value;
  return {
    load: {
      ...passes[0]!.load,
      windowMs,
      completed,
      failed: passes.reduce((sum, pass) => sum + pass.load.failed, 0),
      runsPerSecond: round(completed / (windowMs / 1000)),
      runMs: summarize(samples.map(([duration]) => duration)),
      samples,
      errors: passes.flatMap((pass) => pass.load.errors),
    },
    cpu: { ms, wallMs: passes.reduce((sum, pass) => sum + pass.cpu.wallMs, 0) },
    finished: passes.reduce((sum, pass) => sum + pass.finished, 0),
  };
}

/**
 * A closed loop with a CPU meter over its window alone: the warm-up holds each fresh worker's
 * start (module loading, JIT), which would count once per worker, not per run.
 */
async function measure(pids: Record<string, number | undefined>, warmupMs: number, windowMs: number, runOnce: () => Promise<void>): Promise<Measured> {
  let meter: ReturnType<typeof cpuMeter> | null = null;
  let cpu: CpuUse | null = null;
  const load = await closedLoop({
    concurrency: CONCURRENCY,
    warmupMs,
    windowMs,
    runOnce,
    window: {
      opened: () => (meter = cpuMeter(pids)),
      closed: () => (cpu = meter?.stop() ?? null),
    },
  });
  if (!cpu) throw new Error("scale-out: the load's window never closed");
  return { load, cpu, finished: load.completed };
}

/** Per-run CPU of the processes measured, with `worker` (the sum of `workers`) and `system` (the sum of `system`). */
function cellOf(load: LoadResult, cpu: CpuUse, finished: number, system: string[], workers: string[]): Omit<ScaleCell, "workers" | "worker_cpu_share" | "runs_per_s_passes"> {
  const perRun = (ms: number | undefined) => (ms === undefined || finished === 0 ? null : round(ms / finished, 1));
  const sum = (names: string[]) => (names.every((name) => cpu.ms[name] !== undefined) ? names.reduce((total, name) => total + cpu.ms[name]!, 0) : undefined);
  const byProcess = Object.fromEntries(Object.entries(cpu.ms).map(([name, ms]) => [name, perRun(ms)]));
  return {
    runs_per_s: load.runsPerSecond,
    run_p50_ms: load.runMs.p50,
    run_p95_ms: load.runMs.p95,
    failed: load.failed,
    finished,
    cpu_ms_per_run: { ...byProcess, worker: perRun(sum(workers)), system: perRun(sum(system)) },
    core_share: Object.fromEntries(Object.entries(cpu.ms).map(([name, ms]) => [name, round(ms / cpu.wallMs)])),
  };
}

/**
 * 2. Throughput: sustained runs/s of the two-node graph with ONE worker, for 1, 8 and 64
 * concurrent threads, with per-run and shared event topics. Baseline: the same closed loop
 * in-process (`graph.invoke` with MongoDBSaver on the same server) at the same concurrency.
 */
import { twoNodeGraph } from "./graphs.js";
import { humanInput, openBaselineStore } from "./lib/baseline.js";
import { SCALE, log, scaledMs } from "./lib/env.js";
import { closedLoop, type LoadResult } from "./lib/load.js";
import type { BenchResult, Target } from "./lib/results.js";
import { benchId, startRunbus } from "./lib/runbus.js";
import type { BenchServers } from "./lib/servers.js";
import { ratio } from "./lib/stats.js";

/** 64 threads only from BENCH_SCALE 0.2 up: its rounds are the slowest, and a smoke run stays short. */
export const CONCURRENCY: readonly number[] = SCALE >= 0.2 ? [1, 8, 64] : [1, 8];
const MODES = ["shared", "per-run"] as const;
const TARGET_SHARED_RATIO = 0.5;

export async function throughputBenchmark(servers: BenchServers): Promise<BenchResult> {
  const warmupMs = scaledMs(3, 1);
  const windowMs = scaledMs(8, 2);
  const cells: Record<string, LoadResult> = {};

  for (const concurrency of CONCURRENCY) {
    log(`throughput: in-process baseline, ${concurrency} threads`);
    const store = await openBaselineStore(servers.mongodbUri, `bench_tput_${concurrency}_${Date.now()}`);
    const graph = twoNodeGraph({ checkpointer: store.saver });
    cells[`baseline/${concurrency}`] = await closedLoop({
      concurrency,
      warmupMs,
      windowMs,
      drain: concurrency !== CONCURRENCY.at(-1),
      runOnce: async () => {
        const threadId = benchId("base");
        await graph.invoke(humanInput(), { configurable: { thread_id: threadId } });
        store.reaper.add(threadId);
      },
    });
    await store.close();
  }

  for (const mode of MODES) {
    const runbus = await startRunbus(servers, { mode });
    try {
      for (const concurrency of CONCURRENCY) {
        log(`throughput: runbus ${mode}, ${concurrency} threads`);
        cells[`${mode}/${concurrency}`] = await closedLoop({
          concurrency,
          warmupMs,
          windowMs,
          drain: concurrency !== CONCURRENCY.at(-1),
          runOnce: async () => {
            const timing = await runbus.run({ run_id: benchId("run"), thread_id: benchId("thread"), graph_id: "two_node", input: humanInput(), stream_mode: ["values"] });
            if (timing.status && timing.status !== "success") throw new Error(`run ended ${timing.status}`);
          },
        });
        await runbus.reaper?.flush();
      }
    } finally {
      await runbus.stop();
    }
  }

  const table = CONCURRENCY.map((c) => {
    const base = cells[`baseline/${c}`]!.runsPerSecond;
    return {
      concurrency: c,
      baseline_runs_per_s: base,
      shared_runs_per_s: cells[`shared/${c}`]!.runsPerSecond,
      per_run_runs_per_s: cells[`per-run/${c}`]!.runsPerSecond,
      shared_ratio: ratio(cells[`shared/${c}`]!.runsPerSecond, base),
      per_run_ratio: ratio(cells[`per-run/${c}`]!.runsPerSecond, base),
      baseline_run_p50_ms: cells[`baseline/${c}`]!.runMs.p50,
      shared_run_p50_ms: cells[`shared/${c}`]!.runMs.p50,
      per_run_run_p50_ms: cells[`per-run/${c}`]!.runMs.p50,
      failed: { baseline: cells[`baseline/${c}`]!.failed, shared: cells[`shared/${c}`]!.failed, per_run: cells[`per-run/${c}`]!.failed },
    };
  });
  const targets: Target[] = table.map((row) => ({
    name: `throughput shared, ${row.concurrency} threads`,
    target: `shared mode ≥ ${TARGET_SHARED_RATIO * 100}% of in-process runs/s`,
    measured: `${row.shared_runs_per_s} vs ${row.baseline_runs_per_s} runs/s (×${row.shared_ratio})`,
    pass: row.shared_ratio === null ? null : row.shared_ratio >= TARGET_SHARED_RATIO,
  }));
  targets.push(
    ...table.map((row) => ({
      name: `throughput per-run, ${row.concurrency} threads`,
      target: "stated figure (no target)",
      measured: `${row.per_run_runs_per_s} runs/s, ×${row.per_run_ratio} of in-process`,
      pass: null,
    })),
  );
  return {
    name: "throughput",
    title: "Throughput: sustained runs/s, one worker",
    config: { concurrency: CONCURRENCY, modes: MODES, warmupMs, windowMs, graph: "two_node", threads: "a fresh thread per run; each slot runs one run after another" },
    summary: { table },
    samples: Object.fromEntries(Object.entries(cells).map(([key, cell]) => [key, { ...cell }])),
    targets,
    notes: [],
  };
}

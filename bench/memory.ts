/**
 * 4. Memory: the runtime's RSS and heap after 1, 1,000 and 10,000 completed runs (each cleaned up
 * by runbus's `thread.delete`), with 1,000 runs parked at an `interrupt()`, and after resuming
 * them; retained heap per completed run. Baseline: the same process after its first run.
 */
import { resolve } from "node:path";
import { Child, type ChildMessage } from "./lib/child.js";
import { benchRoot, log, resultsDir, scaled } from "./lib/env.js";
import type { BenchResult } from "./lib/results.js";
import { round } from "./lib/stats.js";

const TARGET_BYTES_PER_RUN = 5 * 1024;

interface MemorySample {
  label: string;
  completed: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  activeRuns: number;
  heapUsedWithCallbackBacklog: number;
  callbackDrainMs: number;
}

export async function memoryBenchmark(): Promise<BenchResult> {
  const n1 = scaled(1000, 50);
  const n2 = scaled(10_000, 500);
  const parked = scaled(1000, 50);
  const concurrency = 16;
  log(`memory: ${n2} completed runs, then ${parked} parked, in a child with --expose-gc`);
  const child = Child.start("memory-child", resolve(benchRoot, "memory-child.ts"), {
    args: [JSON.stringify({ checkpoints: [1, n1, n2], parked, concurrency })],
    nodeArgs: ["--expose-gc"],
    logFile: resolve(resultsDir, "logs", "memory-child.log"),
  });
  const samples: MemorySample[] = [];
  let interrupted = 0;
  let usageCheck: Record<string, unknown> = {};
  try {
    for (let i = 0; i < 3; i++) samples.push(await child.next<ChildMessage & MemorySample>("sample", 600_000));
    samples.push(await child.next<ChildMessage & MemorySample>("sample", 600_000));
    interrupted = (await child.next<{ type: string; interrupted: number }>("parked")).interrupted;
    samples.push(await child.next<ChildMessage & MemorySample>("sample", 600_000));
    const { type: _type, ...check } = await child.next("usage-check", 120_000);
    usageCheck = check;
    await child.next("done");
  } finally {
    await child.stop();
  }
  const [one, first, second, park, resumed] = samples as [MemorySample, MemorySample, MemorySample, MemorySample, MemorySample];
  const perRun = round((second.heapUsed - first.heapUsed) / (n2 - n1), 1);
  const perRunFromOne = round((second.heapUsed - one.heapUsed) / (n2 - 1), 1);
  const perParked = round((park.heapUsed - second.heapUsed) / parked, 1);
  const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
  const table = samples.map((s) => ({
    phase: s.label,
    rss_mib: mib(s.rss),
    heap_used_mib: mib(s.heapUsed),
    heap_total_mib: mib(s.heapTotal),
    heap_vs_first_run: round(s.heapUsed / one.heapUsed, 3),
    heap_used_before_callback_drain_mib: mib(s.heapUsedWithCallbackBacklog),
    callback_drain_ms: s.callbackDrainMs,
    active_runs: s.activeRuns,
  }));
  return {
    name: "memory",
    title: "Memory: retained heap per run",
    config: { completed: [1, n1, n2], parked, concurrency, graph: "two_node (completed), park (interrupt())", stores: "in-memory, emptied by thread.delete after each completed run", sinks: "discarding" },
    summary: {
      table,
      retained_bytes_per_completed_run: perRun,
      retained_bytes_per_completed_run_from_first: perRunFromOne,
      heap_bytes_per_parked_run: perParked,
      parked_threads_interrupted: interrupted,
      heap_after_resume_vs_before_parking: round(resumed.heapUsed / second.heapUsed, 3),
      /** Heap held by LangChain's background callback queue when the last of n2 runs had just ended. */
      callback_backlog_mib: mib(second.heapUsedWithCallbackBacklog - second.heapUsed),
      callback_backlog_drain_ms: second.callbackDrainMs,
      /** 32 concurrent model-calling runs: how many ended with token_usage 0 in their run record. */
      token_usage_check: usageCheck,
    },
    samples: { phases: samples },
    targets: [
      {
        name: "retained heap per completed run",
        target: `≤ ${TARGET_BYTES_PER_RUN / 1024} KB once its cleanup has run`,
        measured: `${perRun} B/run between ${n1} and ${n2} runs (heap ${mib(first.heapUsed)} → ${mib(second.heapUsed)} MiB; ×${table[2]!.heap_vs_first_run} of the heap after the first run)`,
        pass: perRun <= TARGET_BYTES_PER_RUN,
      },
    ],
    notes: [
      `A parked run keeps its checkpoints and its thread and run records in the (in-memory) stores: ${perParked} B each, store included; with MongoDB stores they live in the database.`,
    ],
  };
}

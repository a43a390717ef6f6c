/**
 * The headline figures of a bench run, each beside the baseline measured in the same run and
 * their ratio: one list feeds the terminal table, the charts and docs/benchmarks.md.
 */
import type { BenchmarkName } from "../lib/env.js";
import type { WrittenResult } from "../lib/results.js";
import type { Summary } from "../lib/stats.js";
import { scaleOutHeadlines } from "./scale-out-section.js";
import { topicsHeadlines } from "./topics-section.js";

export type Results = Partial<Record<BenchmarkName, WrittenResult>>;

export interface Headline {
  benchmark: string;
  figure: string;
  runbus: number | null;
  baseline: number | null;
  baselineName: string;
  unit: string;
  /** runbus / baseline. */
  ratio: number | null;
  target: string;
  pass: boolean | null;
  /** Read back from an earlier docs/benchmarks.md: its benchmark has no results at hand. */
  kept?: boolean;
}

const ratioOf = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? null : Math.round((a / b) * 1000) / 1000;

export function headlines(results: Results): Headline[] {
  const rows: Headline[] = [];
  const lat = results.latency?.summary as
    | {
        runbus_first_values_ms: Summary;
        runbus_metadata_ms: Summary;
        baseline_first_chunk_ms: Summary;
        added_p50_first_values_ms: number;
        per_run_topic_create_ms: Summary;
        per_run_start_penalty_p50_ms: number;
        shared_running_ms: Summary;
        per_run_running_ms: Summary;
      }
    | undefined;
  if (lat) {
    for (const p of ["p50", "p95", "p99"] as const) {
      rows.push({
        benchmark: "latency",
        figure: `first values ${p}`,
        runbus: lat.runbus_first_values_ms[p],
        baseline: lat.baseline_first_chunk_ms[p],
        baselineName: "in-process first chunk",
        unit: "ms",
        ratio: ratioOf(lat.runbus_first_values_ms[p], lat.baseline_first_chunk_ms[p]),
        target: p === "p50" ? `added ≤ 10 ms (added ${lat.added_p50_first_values_ms} ms)` : "",
        pass: p === "p50" ? lat.added_p50_first_values_ms <= 10 : null,
      });
    }
    rows.push({
      benchmark: "latency",
      figure: "metadata p50",
      runbus: lat.runbus_metadata_ms.p50,
      baseline: lat.baseline_first_chunk_ms.p50,
      baselineName: "in-process first chunk",
      unit: "ms",
      ratio: ratioOf(lat.runbus_metadata_ms.p50, lat.baseline_first_chunk_ms.p50),
      target: "",
      pass: null,
    });
    rows.push({
      benchmark: "latency",
      figure: "run start p50, per-run topic",
      runbus: lat.per_run_running_ms.p50,
      baseline: lat.shared_running_ms.p50,
      baselineName: "shared topic",
      unit: "ms",
      ratio: ratioOf(lat.per_run_running_ms.p50, lat.shared_running_ms.p50),
      target: `stated: topic creation p50 ${lat.per_run_topic_create_ms.p50} ms`,
      pass: null,
    });
  }
  const tput = results.throughput?.summary.table as
    | Array<{ concurrency: number; baseline_runs_per_s: number; shared_runs_per_s: number; per_run_runs_per_s: number; shared_ratio: number | null; per_run_ratio: number | null }>
    | undefined;
  for (const row of tput ?? []) {
    rows.push({
      benchmark: "throughput",
      figure: `shared, ${row.concurrency} threads`,
      runbus: row.shared_runs_per_s,
      baseline: row.baseline_runs_per_s,
      baselineName: "in-process",
      unit: "runs/s",
      ratio: row.shared_ratio,
      target: "≥ 0.5×",
      pass: row.shared_ratio === null ? null : row.shared_ratio >= 0.5,
    });
    rows.push({
      benchmark: "throughput",
      figure: `per-run, ${row.concurrency} threads`,
      runbus: row.per_run_runs_per_s,
      baseline: row.baseline_runs_per_s,
      baselineName: "in-process",
      unit: "runs/s",
      ratio: row.per_run_ratio,
      target: "stated",
      pass: null,
    });
  }
  const st = results.streaming?.summary as
    | { baseline_chunks_per_s: number; shared_chunks_per_s: number; per_run_chunks_per_s: number; shared_overhead: number | null; per_run_overhead: number | null }
    | undefined;
  if (st) {
    for (const [mode, rate, overhead] of [
      ["shared", st.shared_chunks_per_s, st.shared_overhead],
      ["per-run", st.per_run_chunks_per_s, st.per_run_overhead],
    ] as const) {
      rows.push({
        benchmark: "streaming",
        figure: `chunks/s, ${mode}`,
        runbus: rate,
        baseline: st.baseline_chunks_per_s,
        baselineName: "in-process",
        unit: "chunks/s",
        ratio: ratioOf(rate, st.baseline_chunks_per_s),
        target: `time ≤ 1.25× (×${overhead})`,
        pass: overhead === null ? null : overhead <= 1.25,
      });
    }
  }
  const mem = results.memory?.summary as
    | { retained_bytes_per_completed_run: number; heap_bytes_per_parked_run: number; table: Array<{ heap_used_mib: number; heap_vs_first_run: number }> }
    | undefined;
  if (mem) {
    const first = mem.table[0];
    const last = mem.table[2];
    rows.push({
      benchmark: "memory",
      figure: "heap after the last completed run",
      runbus: last?.heap_used_mib ?? null,
      baseline: first?.heap_used_mib ?? null,
      baselineName: "after the first run",
      unit: "MiB",
      ratio: last?.heap_vs_first_run ?? null,
      target: `≤ 5 KB/run (${mem.retained_bytes_per_completed_run} B/run)`,
      pass: mem.retained_bytes_per_completed_run <= 5120,
    });
  }
  const peer = results.peer?.summary as
    | {
        table: Array<{ concurrency: number; peer_runs_per_s: number; runbus_memory_runs_per_s: number; runbus_mongodb_runs_per_s: number | null }>;
        ttfe: { peer_first_values_ms: Summary; runbus_memory_first_values_ms: Summary };
      }
    | undefined;
  for (const row of peer?.table ?? []) {
    rows.push({
      benchmark: "peer",
      figure: `runs/s, ${row.concurrency} threads, runbus memory stores`,
      runbus: row.runbus_memory_runs_per_s,
      baseline: row.peer_runs_per_s,
      baselineName: "LangGraph API server",
      unit: "runs/s",
      ratio: ratioOf(row.runbus_memory_runs_per_s, row.peer_runs_per_s),
      target: "> 1×",
      pass: ratioOf(row.runbus_memory_runs_per_s, row.peer_runs_per_s) === null ? null : row.runbus_memory_runs_per_s > row.peer_runs_per_s,
    });
    if (row.runbus_mongodb_runs_per_s !== null) {
      rows.push({
        benchmark: "peer",
        figure: `runs/s, ${row.concurrency} threads, runbus MongoDB stores`,
        runbus: row.runbus_mongodb_runs_per_s,
        baseline: row.peer_runs_per_s,
        baselineName: "LangGraph API server",
        unit: "runs/s",
        ratio: ratioOf(row.runbus_mongodb_runs_per_s, row.peer_runs_per_s),
        target: "> 1×",
        pass: row.runbus_mongodb_runs_per_s > row.peer_runs_per_s,
      });
    }
  }
  if (peer) {
    rows.push({
      benchmark: "peer",
      figure: "first values p50, 1 thread, runbus memory stores",
      runbus: peer.ttfe.runbus_memory_first_values_ms.p50,
      baseline: peer.ttfe.peer_first_values_ms.p50,
      baselineName: "LangGraph API server",
      unit: "ms",
      ratio: ratioOf(peer.ttfe.runbus_memory_first_values_ms.p50, peer.ttfe.peer_first_values_ms.p50),
      target: "",
      pass: null,
    });
  }
  rows.push(...gatewayHeadlines(results));
  rows.push(...tracingHeadlines(results));
  rows.push(...mongoCommandsHeadlines(results));
  rows.push(...topicsHeadlines(results));
  rows.push(...scaleOutHeadlines(results));
  return rows;
}

/** Issue 13's target: runbus's own MongoDB commands per run of the two-node graph (bench/mongo-commands.ts). */
export const OWN_COMMANDS_TARGET = 5;

/** The "baseline" column is the target, so the ratio says how far from it the count is. */
function mongoCommandsHeadlines(results: Results): Headline[] {
  const mc = results["mongo-commands"]?.summary as
    | { runbus_own_per_run: number; runbus_own_per_run_concurrent: number; checkpointer_per_run: number; worker_cpu_ms_per_run: number; worker_cpu_ms_per_run_concurrent: number }
    | undefined;
  if (!mc) return [];
  const own = (figure: string, value: number): Headline => ({
    benchmark: "mongo-commands",
    figure,
    runbus: value,
    baseline: OWN_COMMANDS_TARGET,
    baselineName: "issue 13 target",
    unit: "commands",
    ratio: ratioOf(value, OWN_COMMANDS_TARGET),
    target: `≤ ${OWN_COMMANDS_TARGET} per run`,
    pass: value <= OWN_COMMANDS_TARGET,
  });
  const stated = (figure: string, value: number, unit: string): Headline => ({ benchmark: "mongo-commands", figure, runbus: value, baseline: null, baselineName: "", unit, ratio: null, target: "stated", pass: null });
  return [
    own("runbus's own commands per run, one at a time", mc.runbus_own_per_run),
    own("runbus's own commands per run, 8 in flight", mc.runbus_own_per_run_concurrent),
    stated("MongoDBSaver commands per run, one at a time", mc.checkpointer_per_run, "commands"),
    stated("worker CPU per run, one at a time", mc.worker_cpu_ms_per_run, "ms"),
    stated("worker CPU per run, 8 in flight", mc.worker_cpu_ms_per_run_concurrent, "ms"),
  ];
}

/** Tracing on against tracing off: the "baseline" column is the same worker setup without an SDK. */
function tracingHeadlines(results: Results): Headline[] {
  type Side = { first_values_ms: Summary; chunks_per_s: number; worker_cpu_ms_per_run: number };
  const tr = results.tracing?.summary as { off: Side; on: Side; ratio_p50_first_values: number | null } | undefined;
  if (!tr) return [];
  const row = (figure: string, on: number, off: number, unit: string, target = "stated", pass: boolean | null = null): Headline => ({
    benchmark: "tracing",
    figure,
    runbus: on,
    baseline: off,
    baselineName: "tracing off",
    unit,
    ratio: ratioOf(on, off),
    target,
    pass,
  });
  const p50 = tr.ratio_p50_first_values;
  return [
    row("first values p50, tracing on", tr.on.first_values_ms.p50, tr.off.first_values_ms.p50, "ms", `≤ ${TRACING_TARGET_P50_RATIO}× at p50 (×${p50})`, p50 === null ? null : p50 <= TRACING_TARGET_P50_RATIO),
    row("first values p95, tracing on", tr.on.first_values_ms.p95, tr.off.first_values_ms.p95, "ms"),
    row("chunks/s, shared, tracing on", tr.on.chunks_per_s, tr.off.chunks_per_s, "chunks/s"),
    row("worker CPU per two-node run, tracing on", tr.on.worker_cpu_ms_per_run, tr.off.worker_cpu_ms_per_run, "ms"),
  ];
}

/** Tracing on may cost this much at p50 (bench/tracing.ts). */
export const TRACING_TARGET_P50_RATIO = 1.1;

function gatewayHeadlines(results: Results): Headline[] {
  const gw = results.gateway?.summary as
    | {
        table: Array<{ concurrency: number; peer_runs_per_s: number; shared_runs_per_s: number; per_run_runs_per_s: number }>;
        ttfe_1_thread_ms: { peer: Summary; shared: Summary; per_run: Summary };
      }
    | undefined;
  if (!gw) return [];
  const rows: Headline[] = [];
  const peer = gw.ttfe_1_thread_ms.peer.p50;
  for (const [mode, s, targeted] of [
    ["shared", gw.ttfe_1_thread_ms.shared, true],
    ["per-run", gw.ttfe_1_thread_ms.per_run, false],
  ] as const) {
    rows.push({
      benchmark: "gateway",
      figure: `first event p50, 1 thread, ${mode}`,
      runbus: s.p50,
      baseline: peer,
      baselineName: "LangGraph API server",
      unit: "ms",
      ratio: ratioOf(s.p50, peer),
      target: targeted ? "≤ 1×" : "stated",
      pass: targeted && ratioOf(s.p50, peer) !== null ? s.p50 <= peer : null,
    });
  }
  for (const row of gw.table) {
    for (const [mode, rate] of [
      ["shared", row.shared_runs_per_s],
      ["per-run", row.per_run_runs_per_s],
    ] as const) {
      const r = ratioOf(rate, row.peer_runs_per_s);
      rows.push({
        benchmark: "gateway",
        figure: `runs/s, ${row.concurrency} threads, ${mode}`,
        runbus: rate,
        baseline: row.peer_runs_per_s,
        baselineName: "LangGraph API server",
        unit: "runs/s",
        ratio: r,
        target: row.concurrency === 1 ? "stated" : "≥ 1×",
        pass: row.concurrency === 1 || r === null ? null : r >= 1,
      });
    }
  }
  return rows;
}

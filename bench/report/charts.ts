/** The charts of docs/benchmarks.md, written to bench/results/*.svg. */
import type { Summary } from "../lib/stats.js";
import { TRACING_TARGET_P50_RATIO, type Headline, type Results } from "./headlines.js";
import { groupedBars, scorecard, type ScoreRow } from "./svg.js";

const COLORS = {
  baseline: "#8c8c8c",
  metadata: "#9ecae1",
  shared: "#2171b5",
  perRun: "#6baed6",
  memory: "#fd8d3c",
  peer: "#756bb1",
};

export function latencyChart(results: Results): string | null {
  const lat = results.latency?.summary as { runbus_first_values_ms: Summary; runbus_metadata_ms: Summary; baseline_first_chunk_ms: Summary } | undefined;
  if (!lat) return null;
  const peer = results.peer?.summary as { ttfe: { peer_first_values_ms: Summary; runbus_memory_first_values_ms: Summary } } | undefined;
  const groups = (["p50", "p95", "p99"] as const).map((p) => ({
    label: p,
    bars: [
      { label: "in-process graph.stream, first chunk (baseline)", value: lat.baseline_first_chunk_ms[p], color: COLORS.baseline },
      { label: "runbus: metadata event", value: lat.runbus_metadata_ms[p], color: COLORS.metadata },
      { label: "runbus: first values event", value: lat.runbus_first_values_ms[p], color: COLORS.shared },
      ...(peer
        ? [
            { label: "runbus, memory stores: first values", value: peer.ttfe.runbus_memory_first_values_ms[p], color: COLORS.memory },
            { label: "LangGraph API server: first values", value: peer.ttfe.peer_first_values_ms[p], color: COLORS.peer },
          ]
        : []),
    ],
  }));
  return groupedBars({
    title: "Time from run.create to the first event (two-node graph, one run at a time)",
    subtitle: `runbus: ${lat.runbus_first_values_ms.n} runs, shared topic, MongoDB stores; baseline measured in the same run, same server`,
    unit: "milliseconds (lower is better)",
    groups,
  });
}

export function throughputChart(results: Results): string | null {
  const tput = results.throughput?.summary.table as
    | Array<{ concurrency: number; baseline_runs_per_s: number; shared_runs_per_s: number; per_run_runs_per_s: number }>
    | undefined;
  const peer = results.peer?.summary.table as Array<{ concurrency: number; peer_runs_per_s: number; runbus_memory_runs_per_s: number }> | undefined;
  if (!tput && !peer) return null;
  const concurrency = (tput ?? peer ?? []).map((r) => r.concurrency);
  const groups = concurrency.map((c) => {
    const t = tput?.find((r) => r.concurrency === c);
    const p = peer?.find((r) => r.concurrency === c);
    return {
      label: `${c} thread${c === 1 ? "" : "s"}`,
      bars: [
        ...(t
          ? [
              { label: "in-process, MongoDBSaver (baseline)", value: t.baseline_runs_per_s, color: COLORS.baseline },
              { label: "runbus, shared topic, MongoDB", value: t.shared_runs_per_s, color: COLORS.shared },
              { label: "runbus, per-run topics, MongoDB", value: t.per_run_runs_per_s, color: COLORS.perRun },
            ]
          : []),
        ...(p
          ? [
              { label: "runbus, shared topic, memory stores", value: p.runbus_memory_runs_per_s, color: COLORS.memory },
              { label: "LangGraph API server (in-memory)", value: p.peer_runs_per_s, color: COLORS.peer },
            ]
          : []),
      ],
    };
  });
  return groupedBars({
    title: "Sustained runs per second, one worker (two-node graph)",
    subtitle: "closed loop: each thread starts its next run when the last one is done; higher is better",
    unit: "runs per second",
    groups,
  });
}

/** Each target as the factor by which it is met (> 1) or missed (< 1). */
export function scoreRows(rows: Headline[], results: Results): ScoreRow[] {
  const out: ScoreRow[] = [];
  // A benchmark without results here has its rows read back from the earlier docs/benchmarks.md.
  const kept = (benchmark: string) => rows.filter((h) => h.kept && h.benchmark === benchmark).flatMap(keptScore);
  const lat = results.latency?.summary as { added_p50_first_values_ms: number } | undefined;
  if (lat) {
    const added = lat.added_p50_first_values_ms;
    out.push({ label: "latency: added p50 ≤ 10 ms", score: added <= 0 ? 50 : 10 / added, detail: `+${added} ms` });
  } else out.push(...kept("latency"));
  for (const h of rows) {
    if (h.benchmark === "throughput" && h.figure.startsWith("shared")) {
      out.push({ label: `throughput ${h.figure}: ≥ 0.5× in-process`, score: h.ratio === null ? null : h.ratio / 0.5, detail: `×${h.ratio}` });
    }
  }
  const st = results.streaming?.summary as { shared_overhead: number | null; per_run_overhead: number | null } | undefined;
  if (st) {
    out.push({ label: "streaming, shared: ≤ 1.25× in-process time", score: st.shared_overhead ? 1.25 / st.shared_overhead : null, detail: `×${st.shared_overhead}` });
    out.push({ label: "streaming, per-run: ≤ 1.25× in-process time", score: st.per_run_overhead ? 1.25 / st.per_run_overhead : null, detail: `×${st.per_run_overhead}` });
  } else out.push(...kept("streaming"));
  const mem = results.memory?.summary as { retained_bytes_per_completed_run: number } | undefined;
  if (mem) {
    const b = mem.retained_bytes_per_completed_run;
    out.push({ label: "memory: ≤ 5 KB retained per run", score: b <= 0 ? 50 : 5120 / b, detail: `${Math.round(b)} B/run` });
  } else out.push(...kept("memory"));
  for (const h of rows) {
    if (h.benchmark === "peer" && h.figure.startsWith("runs/s")) {
      out.push({ label: `vs LangGraph API, ${h.figure.replace("runs/s, ", "").replace("runbus ", "")}`, score: h.ratio, detail: `×${h.ratio}` });
    }
  }
  for (const h of rows) {
    if (h.benchmark !== "gateway" || h.pass === null) continue;
    // Time: the peer's over the gateway's, so > 1 meets it as for every other row.
    const score = h.ratio === null ? null : h.unit === "ms" ? (h.ratio > 0 ? 1 / h.ratio : null) : h.ratio;
    // Short enough for the chart's label column.
    const label = h.unit === "ms" ? `gateway vs API: first event p50, ${h.figure.split(", ").at(-1)}` : `gateway vs API: ${h.figure}`;
    out.push({ label, score, detail: `×${h.ratio}` });
  }
  // From the headline, so a row kept from an earlier docs/benchmarks.md scores the same way.
  for (const h of rows) {
    if (h.benchmark === "tracing" && h.pass !== null) out.push(...tracingScore(h));
  }
  return out;
}

function tracingScore(h: Headline): ScoreRow[] {
  const r = /\(×([\d.]+)\)/.exec(h.target);
  const ratio = r ? Number(r[1]) : h.ratio;
  return [{ label: `tracing on: first values p50 ≤ ${TRACING_TARGET_P50_RATIO}× off`, score: ratio ? TRACING_TARGET_P50_RATIO / ratio : null, detail: `×${ratio}` }];
}

/**
 * The score of a summary row read back from an earlier docs/benchmarks.md, from the figures its
 * target cell states: "added ≤ 10 ms (added 34.37 ms)", "time ≤ 1.25× (×4.095)", "≤ 5 KB/run (185 B/run)".
 */
function keptScore(h: Headline): ScoreRow[] {
  if (h.pass === null) return [];
  const figure = (re: RegExp) => {
    const m = re.exec(h.target);
    return m ? Number(m[1]) : Number.NaN;
  };
  if (h.benchmark === "latency") {
    const added = figure(/added ([\d.-]+) ms\)/);
    return [{ label: "latency: added p50 ≤ 10 ms", score: Number.isNaN(added) ? null : added <= 0 ? 50 : 10 / added, detail: `+${added} ms` }];
  }
  if (h.benchmark === "streaming") {
    const overhead = figure(/\(×([\d.]+)\)/);
    const mode = h.figure.replace("chunks/s, ", "");
    return [{ label: `streaming, ${mode}: ≤ 1.25× in-process time`, score: overhead ? 1.25 / overhead : null, detail: `×${overhead}` }];
  }
  if (h.benchmark === "memory") {
    const bytes = figure(/\(([\d.]+) B\/run\)/);
    return [{ label: "memory: ≤ 5 KB retained per run", score: Number.isNaN(bytes) ? null : bytes <= 0 ? 50 : 5120 / bytes, detail: `${Math.round(bytes)} B/run` }];
  }
  return [];
}

export function scoreChart(rows: Headline[], results: Results): string | null {
  const score = scoreRows(rows, results);
  if (score.length === 0) return null;
  return scorecard({ title: "Targets: met or missed, and by how much", subtitle: "every figure against a baseline measured in the same run", rows: score, width: 900 });
}

/**
 * 7. Tracing: the latency figure (run.create to the first `values`, one run at a time, shared
 * topic) and the streaming figure (chunks/s of one model call in `messages` mode) with
 * OpenTelemetry off and on, on the same servers in the same run. Two workers run side by side,
 * one without an SDK (every API call a no-op) and one with the Node SDK registered over an
 * exporter that discards (worker-child.ts), and both get the same commands, each with a sampled
 * `traceparent`, so the second records every span. Runs alternate off/on, then on/off (ABBA), so
 * drift and bursts of load on a shared machine fall on both.
 */
import { randomBytes } from "node:crypto";
import { REAP_EVERY, twoNodeRun } from "./latency.js";
import { TRACING_TARGET_P50_RATIO } from "./report/headlines.js";
import { log, scaled } from "./lib/env.js";
import type { RunCreate, RunTiming } from "./lib/kafka.js";
import { cpuMsOf } from "./lib/proc-cpu.js";
import type { BenchResult } from "./lib/results.js";
import { startRunbus, type RunbusSetup } from "./lib/runbus.js";
import type { BenchServers } from "./lib/servers.js";
import { percentile, ratio, round, summarize } from "./lib/stats.js";
import { meanOf, streamSample, streamingRun, type StreamSample } from "./streaming.js";

const MODES = ["off", "on"] as const;
type Mode = (typeof MODES)[number];

interface Side {
  setup: RunbusSetup;
  latency: RunTiming[];
  streams: StreamSample[];
  latencyCpuMs: number;
  streamCpuMs: number;
}

/** A W3C traceparent of a new trace, sampled (flags 01): an upstream service that traces every request. */
function traceparent(): Record<string, string> {
  return { traceparent: `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01` };
}

/**
 * 95% bootstrap interval of p50(on) / p50(off): how far the ratio moves with the samples drawn
 * alone (seeded, so a result file gives the same interval every time).
 */
function p50RatioInterval(off: number[], on: number[], rounds = 2000): [number, number] | null {
  const a = off.filter(Number.isFinite);
  const b = on.filter(Number.isFinite);
  if (a.length < 5 || b.length < 5) return null;
  let seed = 0x9e3779b9;
  const random = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const p50 = (xs: number[]) => percentile(Array.from(xs, () => xs[Math.floor(random() * xs.length)]!).sort((x, y) => x - y), 50);
  const ratios = Array.from({ length: rounds }, () => p50(b) / p50(a)).sort((x, y) => x - y);
  return [round(percentile(ratios, 2.5), 3), round(percentile(ratios, 97.5), 3)];
}

/** Spans the worker has exported so far (flushed first); 0 for the worker without an SDK. */
async function exportedSpans(setup: RunbusSetup): Promise<number> {
  const reply = await setup.worker.call<{ type: string; exportedSpans: number }>({ type: "trace-stats" }, "trace-stats", 30_000);
  return reply.exportedSpans;
}

export async function tracingBenchmark(servers: BenchServers): Promise<BenchResult> {
  const runs = scaled(250, 20);
  const warmup = scaled(20, 3);
  const tokens = scaled(10_000, 500);
  const streams = scaled(5, 3);

  log(`tracing: two workers (off, on), ${runs} two-node runs and ${streams} streaming runs of ${tokens} tokens each, interleaved run by run`);
  const [off, on] = await Promise.all(MODES.map((mode) => startRunbus(servers, { mode: "shared", streamTokens: tokens, backgroundReaper: false, tracing: mode === "on" })));
  const sides: Record<Mode, Side> = {
    off: { setup: off!, latency: [], streams: [], latencyCpuMs: 0, streamCpuMs: 0 },
    on: { setup: on!, latency: [], streams: [], latencyCpuMs: 0, streamCpuMs: 0 },
  };
  // Off then on, then on then off: each side goes first as often as second.
  const order = (i: number): readonly Mode[] => (i % 2 === 0 ? MODES : [...MODES].reverse());
  /** One run on `side`, the worker's CPU ms over it added to `cpu`. */
  const one = async (side: Side, command: RunCreate, cpu: "latencyCpuMs" | "streamCpuMs" | null): Promise<RunTiming> => {
    const pid = side.setup.worker.pid ?? -1;
    const cpu0 = cpuMsOf(pid);
    const timing = await side.setup.run(command, traceparent());
    const cpu1 = cpuMsOf(pid);
    if (cpu) side[cpu] += cpu0 === null || cpu1 === null ? Number.NaN : cpu1 - cpu0;
    return timing;
  };
  // Documents are deleted between runs, never while one is timed.
  const reap = () => Promise.all(MODES.map((mode) => sides[mode].setup.reaper?.flush()));

  const spans = { start: 0, afterLatency: 0, end: 0 };
  try {
    for (let i = 0; i < warmup; i++) for (const mode of order(i)) await one(sides[mode], twoNodeRun(), null);
    for (const mode of MODES) await one(sides[mode], streamingRun(), null);
    await reap();
    spans.start = await exportedSpans(sides.on.setup);

    // Run by run, so a burst of load from elsewhere on the machine falls on both sides.
    for (let i = 0; i < runs; i++) {
      for (const mode of order(i)) sides[mode].latency.push(await one(sides[mode], twoNodeRun(), "latencyCpuMs"));
      if (i % REAP_EVERY === REAP_EVERY - 1) await reap();
    }
    await reap();
    spans.afterLatency = await exportedSpans(sides.on.setup);
    log(`tracing: ${streams} streaming runs per side`);

    for (let s = 0; s < streams; s++) {
      for (const mode of order(s)) {
        const t = await one(sides[mode], streamingRun(), "streamCpuMs");
        sides[mode].streams.push(streamSample(t.messages, t.firstMessages ?? Number.NaN, t.lastMessages ?? Number.NaN));
      }
      await reap();
    }
    spans.end = await exportedSpans(sides.on.setup);
    if ((await exportedSpans(sides.off.setup)) !== 0) throw new Error("tracing: the worker without an SDK exported spans.");
  } finally {
    await Promise.all(MODES.map((mode) => sides[mode].setup.stop()));
  }

  const figures = (side: Side) => {
    const t = side.latency;
    const p50 = (xs: number[]) => summarize(xs).p50;
    return {
      first_values_ms: summarize(t.map((x) => x.firstValues ?? Number.NaN)),
      metadata_ms: summarize(t.map((x) => x.metadata ?? Number.NaN)),
      // From the worker's own stamps, as in the latency benchmark: where a difference comes from.
      breakdown_p50_ms: {
        command_to_metadata_emitted: p50(t.map((x) => x.workerMetadataAt ?? Number.NaN)),
        metadata_emitted_to_running: p50(t.map((x) => (x.workerRunningAt ?? Number.NaN) - (x.workerMetadataAt ?? Number.NaN))),
        running_to_values_emitted: p50(t.map((x) => (x.workerValuesAt ?? Number.NaN) - (x.workerRunningAt ?? Number.NaN))),
        values_emitted_to_consumed: p50(t.map((x) => (x.firstValues ?? Number.NaN) - (x.workerValuesAt ?? Number.NaN))),
      },
      released_ms: summarize(t.map((x) => x.released ?? Number.NaN)),
      worker_cpu_ms_per_run: round(side.latencyCpuMs / (t.length || 1)),
      chunks_per_s: meanOf(side.streams, "chunksPerSecond"),
      last_chunk_ms: meanOf(side.streams, "lastMs"),
      chunks: meanOf(side.streams, "chunks"),
      worker_cpu_ms_per_stream: round(side.streamCpuMs / (side.streams.length || 1)),
    };
  };
  const o = figures(sides.off);
  const n = figures(sides.on);
  const summary = {
    runs,
    tokens,
    streams,
    off: o,
    on: { ...n, spans_per_run: round((spans.afterLatency - spans.start) / runs, 1), spans_per_stream: round((spans.end - spans.afterLatency) / streams, 1) },
    ratio_p50_first_values: ratio(n.first_values_ms.p50, o.first_values_ms.p50),
    ratio_p50_first_values_ci95: p50RatioInterval(
      sides.off.latency.map((t) => t.firstValues ?? Number.NaN),
      sides.on.latency.map((t) => t.firstValues ?? Number.NaN),
    ),
    ratio_p95_first_values: ratio(n.first_values_ms.p95, o.first_values_ms.p95),
    ratio_p50_metadata: ratio(n.metadata_ms.p50, o.metadata_ms.p50),
    ratio_chunks_per_s: ratio(n.chunks_per_s, o.chunks_per_s),
    ratio_last_chunk_ms: ratio(n.last_chunk_ms, o.last_chunk_ms),
    ratio_worker_cpu_per_run: ratio(n.worker_cpu_ms_per_run, o.worker_cpu_ms_per_run),
    ratio_worker_cpu_per_stream: ratio(n.worker_cpu_ms_per_stream, o.worker_cpu_ms_per_stream),
    added_p50_first_values_ms: round(n.first_values_ms.p50 - o.first_values_ms.p50),
  };
  const p50Ratio = summary.ratio_p50_first_values;
  return {
    name: "tracing",
    title: "Tracing: OpenTelemetry on vs off (latency and streaming)",
    config: {
      runs,
      warmup,
      tokens,
      streams,
      reapEvery: REAP_EVERY,
      order: "ABBA, run by run: off/on, on/off",
      off: "no OpenTelemetry SDK registered: every API call a no-op",
      on: "NodeTracerProvider + BatchSpanProcessor over an exporter that discards; every command carries a sampled traceparent",
      commands: "both workers get the same commands, traceparent header included",
      graphs: { latency: "two_node, stream_mode values", streaming: "streaming (ScriptedChatModel, one chunk per token), stream_mode messages" },
    },
    summary,
    samples: Object.fromEntries(
      MODES.map((mode) => [
        mode,
        {
          firstValues: sides[mode].latency.map((t) => (t.firstValues === undefined ? null : round(t.firstValues))),
          metadata: sides[mode].latency.map((t) => (t.metadata === undefined ? null : round(t.metadata))),
          streams: sides[mode].streams,
        },
      ]),
    ),
    targets: [
      {
        name: "tracing cost at p50",
        target: `first values p50 with tracing on ≤ ${TRACING_TARGET_P50_RATIO}× off`,
        measured: `×${p50Ratio} (${n.first_values_ms.p50} vs ${o.first_values_ms.p50} ms; 95% interval ×${summary.ratio_p50_first_values_ci95?.join("–×") ?? "?"}); p95 ×${summary.ratio_p95_first_values}; chunks/s ×${summary.ratio_chunks_per_s}`,
        pass: p50Ratio === null ? null : p50Ratio <= TRACING_TARGET_P50_RATIO,
      },
    ],
    notes: [],
  };
}

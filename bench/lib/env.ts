/** Benchmark settings from the environment: BENCH_SCALE sizes every sample, BENCH_ONLY picks benchmarks. */
import { resolve } from "node:path";

export const benchRoot = resolve(import.meta.dirname, "..");
export const repoRoot = resolve(benchRoot, "..");
export const resultsDir = process.env.BENCH_RESULTS_DIR ?? resolve(benchRoot, "results");

/** 1 = the full run (< 15 min on 2 cores); 0.05 = a smoke run (< 2 min). */
export const SCALE = (() => {
  const value = Number(process.env.BENCH_SCALE ?? "1");
  if (!Number.isFinite(value) || value <= 0) throw new Error(`BENCH_SCALE must be a positive number, got ${process.env.BENCH_SCALE}.`);
  return value;
})();

/** `n` scaled, never below `min`. */
export function scaled(n: number, min = 1): number {
  return Math.max(min, Math.round(n * SCALE));
}

/** Seconds scaled, never below `minSeconds`; returned in ms. */
export function scaledMs(seconds: number, minSeconds: number): number {
  return Math.round(Math.max(minSeconds, seconds * SCALE) * 1000);
}

export const BENCHMARKS = ["latency", "throughput", "streaming", "memory", "peer", "gateway", "tracing", "mongo-commands", "profile", "topics", "scale-out"] as const;
export type BenchmarkName = (typeof BENCHMARKS)[number];

/** BENCH_ONLY=latency,peer runs a subset; unset runs all. */
export function selected(): BenchmarkName[] {
  const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim()).filter(Boolean);
  if (!only?.length) return [...BENCHMARKS];
  const unknown = only.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
  if (unknown.length) throw new Error(`Unknown benchmark(s) in BENCH_ONLY: ${unknown.join(", ")}; known: ${BENCHMARKS.join(", ")}.`);
  return only as BenchmarkName[];
}

/** Progress lines go to stderr, so stdout carries only the JSON and the summary. */
export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/**
 * Regenerates docs/benchmarks.md and its charts (bench/results/*.svg) from the results of a run.
 * `tsx bench/report/docs.ts` rebuilds them from the JSON files in bench/results/.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { BENCHMARKS, repoRoot, resultsDir, type BenchmarkName } from "../lib/env.js";
import type { WrittenResult } from "../lib/results.js";
import { latencyChart, scoreChart, throughputChart } from "./charts.js";
import { headlines, type Results } from "./headlines.js";
import { readKept } from "./kept.js";
import { renderMarkdown } from "./markdown.js";

/**
 * `results`: this run's. A benchmark that did not run keeps its section: rendered from the JSON an
 * earlier run left in bench/results/, else kept as the earlier docs/benchmarks.md had it.
 */
export function writeDocs(results: Results, totalSeconds: number | null): string[] {
  const docsPath = join(repoRoot, "docs", "benchmarks.md");
  const kept = readKept(existsSync(docsPath) ? readFileSync(docsPath, "utf8") : null);
  const earlier = loadResults();
  const merged: Results = { ...results };
  const provenance: Partial<Record<BenchmarkName, string>> = {};
  for (const name of BENCHMARKS) {
    const result = earlier[name];
    if (merged[name] || !result) continue;
    merged[name] = result;
    provenance[name] = `bench/results/${name}.json of the run of ${result.finishedAt.slice(0, 16).replace("T", " ")} UTC, \`BENCH_SCALE=${result.scale}\``;
  }
  const own = headlines(merged);
  const rows = BENCHMARKS.flatMap((name) => (merged[name] ? own.filter((h) => h.benchmark === name) : kept.rows(name)));
  const charts: Record<string, string | null> = {
    "targets.svg": scoreChart(rows, merged),
    "latency.svg": latencyChart(merged),
    // Drawn with its own section's results only: a kept section still links the earlier chart.
    "throughput.svg": merged.throughput ? throughputChart(merged) : null,
  };
  const written: string[] = [];
  for (const [file, svg] of Object.entries(charts)) {
    if (!svg) continue;
    const path = join(resultsDir, file);
    writeFileSync(path, `${svg}\n`);
    written.push(relative(repoRoot, path));
  }
  // A chart not drawn this time is still linked by the section kept with it.
  const chartLink = (file: string) => (charts[file] ? relative(join(repoRoot, "docs"), join(resultsDir, file)) : null);
  writeFileSync(docsPath, renderMarkdown(merged, rows, { chartLink, totalSeconds, fresh: results, provenance, kept }));
  written.push(relative(repoRoot, docsPath));
  return written;
}

/** Loads the results a previous run wrote. */
export function loadResults(): Results {
  const results: Results = {};
  for (const name of BENCHMARKS) {
    const file = join(resultsDir, `${name}.json`);
    if (existsSync(file)) results[name] = JSON.parse(readFileSync(file, "utf8")) as WrittenResult;
  }
  return results;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const results = loadResults();
  const total = Object.values(results).reduce((sum, r) => sum + (r?.durationMs ?? 0), 0);
  process.stdout.write(`${writeDocs(results, Math.round(total / 1000)).join("\n")}\n`);
}

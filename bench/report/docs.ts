/**
 * Regenerates docs/benchmarks.md and its charts (bench/results/*.svg) from the results of a run.
 * `tsx bench/report/docs.ts` rebuilds them from the JSON files in bench/results/.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { BENCHMARKS } from "../lib/env.js";
import { repoRoot, resultsDir } from "../lib/env.js";
import type { WrittenResult } from "../lib/results.js";
import { latencyChart, scoreChart, throughputChart } from "./charts.js";
import { headlines, type Results } from "./headlines.js";
import { renderMarkdown } from "./markdown.js";

export function writeDocs(results: Results, totalSeconds: number | null): string[] {
  const rows = headlines(results);
  const charts: Record<string, string | null> = {
    "targets.svg": scoreChart(rows, results),
    "latency.svg": latencyChart(results),
    "throughput.svg": throughputChart(results),
  };
  const written: string[] = [];
  for (const [file, svg] of Object.entries(charts)) {
    if (!svg) continue;
    const path = join(resultsDir, file);
    writeFileSync(path, `${svg}\n`);
    written.push(relative(repoRoot, path));
  }
  const docsPath = join(repoRoot, "docs", "benchmarks.md");
  const chartLink = (file: string) => (charts[file] ? relative(join(repoRoot, "docs"), join(resultsDir, file)) : null);
  writeFileSync(docsPath, renderMarkdown(results, rows, { chartLink, totalSeconds }));
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

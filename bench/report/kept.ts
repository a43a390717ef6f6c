/**
 * What an earlier docs/benchmarks.md says about benchmarks a run has no results for (a BENCH_ONLY
 * run, with no bench/results/<name>.json from an earlier one): its sections and summary rows are
 * kept as they were, marked with the run they come from, instead of being dropped.
 */
import type { Headline } from "./headlines.js";

export interface KeptDoc {
  /** "2026-11-24 22:44 UTC, `BENCH_SCALE=1`; servers: …": the run the earlier file was generated from. */
  from: string | null;
  /** The summary rows of `benchmark`, as headlines. */
  rows(benchmark: string): Headline[];
  /** The section whose heading starts with `heading` (heading line to before the next `## `), if any. */
  section(heading: string): string[] | null;
}

/** The marker a kept section carries under its heading; a section kept again keeps its first marker. */
export const KEPT_MARK = "_Not measured in the last run: kept from";

export function readKept(markdown: string | null): KeptDoc {
  const lines = markdown?.split("\n") ?? [];
  const lastRun = lines.find((line) => line.startsWith("Last run: "));
  const when = lastRun ? /^Last run: (.+? UTC), `BENCH_SCALE=([^`]+)`/.exec(lastRun) : null;
  const servers = lastRun ? /Servers: (.+?)\. Raw samples/.exec(lastRun) : null;
  const from = when ? `the run of ${when[1]}, \`BENCH_SCALE=${when[2]}\`${servers ? `; servers: ${servers[1]}` : ""}` : null;

  const summaryStart = lines.indexOf("## Summary");
  const summaryRows: Headline[] = [];
  if (summaryStart >= 0) {
    for (const line of lines.slice(summaryStart + 1)) {
      if (line.startsWith("## ")) break;
      const row = parseRow(line);
      if (row) summaryRows.push(row);
    }
  }

  return {
    from,
    rows: (benchmark) => summaryRows.filter((row) => row.benchmark === benchmark),
    section: (heading) => {
      const start = lines.findIndex((line) => line.startsWith(heading));
      if (start < 0) return null;
      const next = lines.findIndex((line, i) => i > start && line.startsWith("## "));
      const body = lines.slice(start, next < 0 ? undefined : next);
      // Under the heading (and its blank line), once: a section kept twice still names its own run.
      if (from && !body.some((line) => line.startsWith(KEPT_MARK))) body.splice(2, 0, `${KEPT_MARK} ${from}._`, "");
      return body;
    },
  };
}

/** `| benchmark | figure | 40.72 ms | 6.35 ms (in-process first chunk) | ×6.413 | target | **miss** |` */
function parseRow(line: string): Headline | null {
  if (!line.startsWith("| ") || line.startsWith("| benchmark |") || line.startsWith("| ---")) return null;
  const cells = line
    .slice(2, -2)
    .split(/ (?<!\\)\| /)
    .map((cell) => cell.replace(/\\\|/g, "|"));
  if (cells.length < 6) return null;
  const [benchmark, figure, runbus, baseline, ratio, target, verdict = ""] = cells as [string, string, string, string, string, string, string?];
  const value = /^(-?[\d.]+) (.+)$/.exec(runbus);
  const base = /^(-?[\d.]+) (.+?) \((.+)\)$/.exec(baseline);
  const r = /^×(-?[\d.]+)$/.exec(ratio);
  return {
    benchmark,
    figure,
    runbus: value ? Number(value[1]) : null,
    baseline: base ? Number(base[1]) : null,
    baselineName: base?.[3] ?? "",
    unit: value?.[2] ?? base?.[2] ?? "",
    ratio: r ? Number(r[1]) : null,
    target,
    pass: verdict.trim() === "" ? null : verdict.includes("pass"),
    kept: true,
  };
}

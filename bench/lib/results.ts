/** One JSON file per benchmark in bench/results/: machine, config, raw samples, percentiles, targets. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SCALE, resultsDir } from "./env.js";
import { machineInfo, type MachineInfo } from "./machine.js";

export interface Target {
  name: string;
  /** The target as a sentence, e.g. "added p50 ≤ 10 ms". */
  target: string;
  /** The measured figure, in words and numbers. */
  measured: string;
  pass: boolean | null;
}

export interface BenchResult {
  name: string;
  title: string;
  config: Record<string, unknown>;
  /** Percentiles and derived figures; every figure has its same-run baseline and ratio beside it. */
  summary: Record<string, unknown>;
  /** Raw samples, for anyone who wants other statistics. */
  samples: Record<string, unknown>;
  targets: Target[];
  notes: string[];
}

export interface WrittenResult extends BenchResult {
  machine: MachineInfo;
  scale: number;
  finishedAt: string;
  durationMs: number;
}

export function writeResult(result: BenchResult, durationMs: number, extra: Record<string, unknown> = {}): WrittenResult {
  mkdirSync(resultsDir, { recursive: true });
  const written: WrittenResult = { ...result, ...extra, machine: machineInfo(), scale: SCALE, finishedAt: new Date().toISOString(), durationMs: Math.round(durationMs) };
  writeFileSync(join(resultsDir, `${result.name}.json`), `${JSON.stringify(written, null, 2)}\n`);
  return written;
}

/** What the numbers were measured on: machine, runtime and package versions. */
import { readFileSync } from "node:fs";
import { cpus, freemem, loadavg, platform, release, totalmem } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./env.js";

const PACKAGES = [
  "@langchain/core",
  "@langchain/langgraph",
  "@langchain/langgraph-checkpoint",
  "@langchain/langgraph-checkpoint-mongodb",
  "@langchain/langgraph-api",
  "@langchain/langgraph-sdk",
  "kafkajs",
  "mongodb",
  "xstate",
];

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  loadAverage: number[];
  os: string;
  node: string;
  packages: Record<string, string>;
  runbus: string;
}

function versionOf(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "missing";
  }
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
    os: `${platform()} ${release()}`,
    node: process.version,
    packages: Object.fromEntries(PACKAGES.map((pkg) => [pkg, versionOf(pkg)])),
    runbus: (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version,
  };
}

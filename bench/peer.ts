/**
 * 5. Peer: the same two-node graph served by the LangGraph API server (`@langchain/langgraph-api`,
 * in-memory, as `langgraph dev` runs it) and driven by `@langchain/langgraph-sdk`: runs/s at 1, 8
 * and 64 concurrent threads and time to first event, beside runbus at equal concurrency: runbus as
 * deployed (MongoDB stores; from the throughput and latency benchmarks of this same run) and
 * runbus with in-memory stores like the peer's (measured here).
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "@langchain/langgraph-sdk";
import { humanInput } from "./lib/baseline.js";
import { Child } from "./lib/child.js";
import { benchRoot, log, resultsDir, scaled, scaledMs } from "./lib/env.js";
import { closedLoop, type LoadResult } from "./lib/load.js";
import type { BenchResult, Target } from "./lib/results.js";
import { startRunbus } from "./lib/runbus.js";
import type { BenchServers } from "./lib/servers.js";
import { ratio, round, summarize } from "./lib/stats.js";
import { CONCURRENCY } from "./throughput.js";

/** What this run's throughput and latency benchmarks measured, when they ran. */
export interface RunbusFigures {
  runsPerSecond?: Record<number, number>;
  metadataP50?: number;
  firstValuesP50?: number;
}

export async function peerBenchmark(servers: BenchServers, deployed: RunbusFigures = {}): Promise<BenchResult> {
  const ttfeRuns = scaled(100, 5);
  const ttfeWarmup = scaled(5, 2);
  const warmupMs = scaledMs(3, 1);
  const windowMs = scaledMs(8, 2);
  const nWorkers = 10;

  const cwd = mkdtempSync(join(tmpdir(), "runbus-bench-peer-"));
  log("peer: starting the LangGraph API server (in-memory, 10 jobs per worker)");
  const server = Child.start("langgraph-api", resolve(benchRoot, "peer-server.ts"), {
    args: [JSON.stringify({ cwd, graphFile: resolve(benchRoot, "graphs.ts"), nWorkers })],
    env: { LOG_LEVEL: "warn", LANGSMITH_TRACING: "false", LANGCHAIN_TRACING_V2: "false" },
    logFile: resolve(resultsDir, "logs", "langgraph-api.log"),
  });
  const peer: Record<string, LoadResult> = {};
  const peerMeta: number[] = [];
  const peerValues: number[] = [];
  try {
    const { host } = await server.next<{ type: string; host: string }>("ready", 120_000);
    const client = new Client({ apiUrl: `http://${host}` });
    const streamRun = async (onEvent?: (event: string, ms: number) => void) => {
      const t0 = performance.now();
      for await (const chunk of client.runs.stream(randomUUID(), "two_node", { input: humanInput(), streamMode: ["values"], ifNotExists: "create" })) {
        onEvent?.(chunk.event, performance.now() - t0);
        if (chunk.event === "error") throw new Error(`peer run failed: ${JSON.stringify(chunk.data)}`);
      }
    };
    log(`peer: ${ttfeRuns} runs one at a time (time to first event)`);
    for (let i = 0; i < ttfeRuns + ttfeWarmup; i++) {
      let meta = Number.NaN;
      let values = Number.NaN;
      await streamRun((event, ms) => {
        if (event === "metadata" && Number.isNaN(meta)) meta = ms;
        if (event === "values" && Number.isNaN(values)) values = ms;
      });
      if (i >= ttfeWarmup) {
        peerMeta.push(meta);
        peerValues.push(values);
      }
    }
    for (const concurrency of CONCURRENCY) {
      log(`peer: LangGraph API server, ${concurrency} threads`);
      peer[concurrency] = await closedLoop({ concurrency, warmupMs, windowMs, runOnce: () => streamRun(), drain: concurrency !== CONCURRENCY.at(-1) });
    }
  } finally {
    await server.stop();
    rmSync(cwd, { recursive: true, force: true });
  }

  log("peer: runbus with in-memory stores (shared topic)");
  const memory: Record<string, LoadResult> = {};
  const memMeta: number[] = [];
  const memValues: number[] = [];
  const runbus = await startRunbus(servers, { mode: "shared", memoryStores: true });
  try {
    const command = () => ({ run_id: randomUUID(), thread_id: randomUUID(), graph_id: "two_node", input: humanInput(), stream_mode: ["values"] });
    for (let i = 0; i < ttfeRuns + ttfeWarmup; i++) {
      const t = await runbus.run(command());
      if (i >= ttfeWarmup) {
        memMeta.push(t.metadata ?? Number.NaN);
        memValues.push(t.firstValues ?? Number.NaN);
      }
    }
    for (const concurrency of CONCURRENCY) {
      log(`peer: runbus (memory stores), ${concurrency} threads`);
      memory[concurrency] = await closedLoop({
        concurrency,
        warmupMs,
        windowMs,
        drain: concurrency !== CONCURRENCY.at(-1),
        runOnce: async () => {
          await runbus.run(command());
        },
      });
    }
  } finally {
    await runbus.stop();
  }

  const table = CONCURRENCY.map((c) => ({
    concurrency: c,
    peer_runs_per_s: peer[c]!.runsPerSecond,
    runbus_memory_runs_per_s: memory[c]!.runsPerSecond,
    runbus_mongodb_runs_per_s: deployed.runsPerSecond?.[c] ?? null,
    runbus_memory_vs_peer: ratio(memory[c]!.runsPerSecond, peer[c]!.runsPerSecond),
    runbus_mongodb_vs_peer: ratio(deployed.runsPerSecond?.[c], peer[c]!.runsPerSecond),
    peer_run_p50_ms: peer[c]!.runMs.p50,
    runbus_memory_run_p50_ms: memory[c]!.runMs.p50,
    failed: { peer: peer[c]!.failed, runbus_memory: memory[c]!.failed },
  }));
  const ttfe = {
    peer_metadata_ms: summarize(peerMeta),
    peer_first_values_ms: summarize(peerValues),
    runbus_memory_metadata_ms: summarize(memMeta),
    runbus_memory_first_values_ms: summarize(memValues),
    runbus_mongodb_metadata_p50_ms: deployed.metadataP50 ?? null,
    runbus_mongodb_first_values_p50_ms: deployed.firstValuesP50 ?? null,
  };
  const targets: Target[] = table.flatMap((row) => [
    {
      name: `ahead of the LangGraph API server, ${row.concurrency} threads (runbus with in-memory stores, like the peer)`,
      target: "runbus runs/s > LangGraph API server runs/s",
      measured: `${row.runbus_memory_runs_per_s} vs ${row.peer_runs_per_s} runs/s (×${row.runbus_memory_vs_peer})`,
      pass: row.runbus_memory_vs_peer === null ? null : row.runbus_memory_vs_peer > 1,
    },
    {
      name: `ahead of the LangGraph API server, ${row.concurrency} threads (runbus on MongoDB, peer in memory)`,
      target: "runbus runs/s > LangGraph API server runs/s",
      measured: row.runbus_mongodb_runs_per_s === null ? "throughput benchmark not run" : `${row.runbus_mongodb_runs_per_s} vs ${row.peer_runs_per_s} runs/s (×${row.runbus_mongodb_vs_peer})`,
      pass: row.runbus_mongodb_vs_peer === null ? null : row.runbus_mongodb_vs_peer > 1,
    },
  ]);
  return {
    name: "peer",
    title: "Peer: the LangGraph API server (langgraph dev, in-memory) vs runbus",
    config: { ttfeRuns, warmupMs, windowMs, concurrency: CONCURRENCY, peer: { package: "@langchain/langgraph-api", jobsPerWorker: nWorkers, storage: "in-memory (as langgraph dev)", client: "@langchain/langgraph-sdk runs.stream, streamMode values, ifNotExists create" }, runbus: "one worker, shared topic; memory stores here, MongoDB stores in the throughput benchmark" },
    summary: { table, ttfe, ratio_metadata_p50_runbus_memory_vs_peer: ratio(ttfe.runbus_memory_metadata_ms.p50, ttfe.peer_metadata_ms.p50), ratio_first_values_p50_runbus_memory_vs_peer: ratio(ttfe.runbus_memory_first_values_ms.p50, ttfe.peer_first_values_ms.p50) },
    samples: {
      peer: Object.fromEntries(Object.entries(peer).map(([c, r]) => [c, r])),
      runbusMemory: Object.fromEntries(Object.entries(memory).map(([c, r]) => [c, r])),
      peerMetadata: peerMeta.map((v) => round(v)),
      peerFirstValues: peerValues.map((v) => round(v)),
      runbusMemoryMetadata: memMeta.map((v) => round(v)),
      runbusMemoryFirstValues: memValues.map((v) => round(v)),
    },
    targets,
    notes: [],
  };
}

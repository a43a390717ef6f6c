/**
 * 5. Peer: the same two-node graph served by the LangGraph API server (`@langchain/langgraph-api`,
 * in-memory, as `langgraph dev` runs it) and driven by `@langchain/langgraph-sdk`: runs/s at 1, 8
 * and 64 concurrent threads and time to first event, beside runbus at equal concurrency: runbus as
 * deployed (MongoDB stores; from the throughput and latency benchmarks of this same run) and
 * runbus with in-memory stores like the peer's (measured here).
 */
import { randomUUID } from "node:crypto";
import { humanInput } from "./lib/baseline.js";
import { log, scaled, scaledMs } from "./lib/env.js";
import { PEER_JOBS, sdkRun, startPeer } from "./lib/langgraph-api.js";
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

  log(`peer: starting the LangGraph API server (in-memory, ${PEER_JOBS} jobs per worker)`);
  const server = await startPeer();
  const peer: Record<string, LoadResult> = {};
  const peerMeta: number[] = [];
  const peerValues: number[] = [];
  try {
    log(`peer: ${ttfeRuns} runs one at a time (time to first event)`);
    for (let i = 0; i < ttfeRuns + ttfeWarmup; i++) {
      const t = await sdkRun(server.client);
      if (i >= ttfeWarmup) {
        peerMeta.push(t.metadata);
        peerValues.push(t.firstValues);
      }
    }
    for (const concurrency of CONCURRENCY) {
      log(`peer: LangGraph API server, ${concurrency} threads`);
      peer[concurrency] = await closedLoop({
        concurrency,
        warmupMs,
        windowMs,
        drain: concurrency !== CONCURRENCY.at(-1),
        runOnce: async () => {
          await sdkRun(server.client);
        },
      });
    }
  } finally {
    await server.stop();
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
    config: { ttfeRuns, warmupMs, windowMs, concurrency: CONCURRENCY, peer: { package: "@langchain/langgraph-api", jobsPerWorker: PEER_JOBS, storage: "in-memory (as langgraph dev)", client: "@langchain/langgraph-sdk runs.stream, streamMode values, ifNotExists create" }, runbus: "one worker, shared topic; memory stores here, MongoDB stores in the throughput benchmark" },
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

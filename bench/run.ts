/**
 * `npm run bench`: starts Kafka and secantusd-rs (or uses RUNBUS_KAFKA_BROKERS / RUNBUS_MONGODB_URI),
 * runs every benchmark against a baseline measured in the same run, writes
 * bench/results/<name>.json, prints each result as JSON and a summary table, and regenerates
 * docs/benchmarks.md with its charts. BENCH_SCALE sizes the samples (0.05 for a smoke run);
 * BENCH_ONLY=latency,peer runs a subset.
 */
import { gatewayBenchmark } from "./gateway.js";
import { latencyBenchmark } from "./latency.js";
import { memoryBenchmark } from "./memory.js";
import { mongoCommandsBenchmark } from "./mongo-commands.js";
import { peerBenchmark, type RunbusFigures } from "./peer.js";
import { profileBenchmark } from "./profile.js";
import { scaleOutBenchmark } from "./scale-out.js";
import { SCALE, log, selected, type BenchmarkName } from "./lib/env.js";
import { writeResult, type BenchResult, type WrittenResult } from "./lib/results.js";
import { startServers } from "./lib/servers.js";
import { streamingBenchmark } from "./streaming.js";
import { throughputBenchmark } from "./throughput.js";
import { topicsBenchmark } from "./topics.js";
import { tracingBenchmark } from "./tracing.js";
import { writeDocs } from "./report/docs.js";
import { summaryTable } from "./report/summary.js";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
// Runs left in flight when a load ends undrained fail as their store or worker closes; note them,
// don't die of them.
process.on("unhandledRejection", (error) => log(`unhandled rejection (after a load's window closed?): ${error instanceof Error ? error.message : String(error)}`));

async function main(): Promise<void> {
  const started = performance.now();
  const names = selected();
  log(`BENCH_SCALE=${SCALE}; benchmarks: ${names.join(", ")}`);
  const servers = await startServers();
  const results: Partial<Record<BenchmarkName, WrittenResult>> = {};
  try {
    const run = async (name: BenchmarkName, bench: () => Promise<BenchResult>) => {
      if (!names.includes(name)) return;
      const t0 = performance.now();
      const result = await bench();
      const written = writeResult(result, performance.now() - t0, { servers: servers.sources });
      results[name] = written;
      process.stdout.write(`${JSON.stringify({ benchmark: name, summary: result.summary, targets: result.targets })}\n`);
      log(`${name} done in ${Math.round((performance.now() - t0) / 1000)} s`);
    };
    await run("latency", () => latencyBenchmark(servers));
    await run("throughput", () => throughputBenchmark(servers));
    await run("streaming", () => streamingBenchmark(servers));
    await run("memory", () => memoryBenchmark());
    await run("peer", () => peerBenchmark(servers, runbusFigures(results)));
    await run("gateway", () => gatewayBenchmark(servers));
    await run("tracing", () => tracingBenchmark(servers));
    await run("mongo-commands", () => mongoCommandsBenchmark(servers));
    await run("profile", () => profileBenchmark(servers));
    await run("scale-out", () => scaleOutBenchmark(servers));
    // Last: it fills the broker with thousands of topics (and deletes them) and should not be what others measure.
    await run("topics", () => topicsBenchmark(servers));
  } finally {
    await servers.stop();
  }
  process.stdout.write(`\n${summaryTable(results)}\n`);
  const docs = writeDocs(results, Math.round((performance.now() - started) / 1000));
  log(`wrote ${docs.join(", ")}; total ${Math.round((performance.now() - started) / 1000)} s`);
}

/** What the peer comparison needs from this run's throughput and latency benchmarks. */
function runbusFigures(results: Partial<Record<BenchmarkName, WrittenResult>>): RunbusFigures {
  const table = (results.throughput?.summary.table ?? []) as Array<{ concurrency: number; shared_runs_per_s: number }>;
  const latency = results.latency?.summary as { runbus_metadata_ms?: { p50: number }; runbus_first_values_ms?: { p50: number } } | undefined;
  return {
    ...(table.length ? { runsPerSecond: Object.fromEntries(table.map((row) => [row.concurrency, row.shared_runs_per_s])) } : {}),
    ...(latency?.runbus_metadata_ms ? { metadataP50: latency.runbus_metadata_ms.p50 } : {}),
    ...(latency?.runbus_first_values_ms ? { firstValuesP50: latency.runbus_first_values_ms.p50 } : {}),
  };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

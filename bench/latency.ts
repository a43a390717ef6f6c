/**
 * 1. Latency of a two-node graph: time from producing `run.create` to consuming its `metadata`
 * and its first `values` event, one run at a time, on a long-lived consumer of the shared topic.
 * Baseline: in-process `graph.stream` time to first chunk with MongoDBSaver on the same server.
 * Per-run topics are measured apart: the topic creation itself, the run's start (audit record),
 * and what a fresh per-run reader (the runbus client) waits for its first event.
 */
import { Kafka, logLevel } from "kafkajs";
import { waitForTopicLeaders } from "../src/adapters/kafka/topic-admin.js";
import { createClient } from "../src/client/client.js";
import { twoNodeGraph } from "./graphs.js";
import { humanInput, openBaselineStore } from "./lib/baseline.js";
import { log, scaled } from "./lib/env.js";
import type { RunCreate, RunTiming } from "./lib/kafka.js";
import type { BenchResult } from "./lib/results.js";
import { benchId, startRunbus } from "./lib/runbus.js";
import type { BenchServers } from "./lib/servers.js";
import { ratio, round, summarize } from "./lib/stats.js";

const TARGET_ADDED_P50_MS = 10;
/** A run's documents are deleted after at most this many more runs (see lib/reaper.ts). */
export const REAP_EVERY = 10;

/** The run the latency figure is of: the two-node graph on a new thread, `values` mode. */
export function twoNodeRun(): RunCreate {
  return { run_id: benchId("run"), thread_id: benchId("thread"), graph_id: "two_node", input: humanInput(), stream_mode: ["values"] };
}

export async function latencyBenchmark(servers: BenchServers): Promise<BenchResult> {
  const runs = scaled(1000, 20);
  const warmup = scaled(20, 3);
  const perRunRuns = scaled(60, 10);
  const topicCreates = scaled(60, 10);
  const readerRuns = scaled(20, 3);

  // Documents are deleted between runs, in batches, never while one is timed.
  const baseline = await openBaselineStore(servers.mongodbUri, `bench_latency_${Date.now()}`, { backgroundReaper: false });
  const graph = twoNodeGraph({ checkpointer: baseline.saver });
  const inProcess = async () => {
    const threadId = benchId("base");
    const t0 = performance.now();
    let first = Number.NaN;
    for await (const _chunk of await graph.stream(humanInput(), { configurable: { thread_id: threadId }, streamMode: ["values"] })) {
      if (Number.isNaN(first)) first = performance.now() - t0;
    }
    const total = performance.now() - t0;
    baseline.reaper.add(threadId);
    return { first, total };
  };

  // Shared mode, interleaved run by run with the baseline so both see the same server state.
  log(`latency: ${runs} runs, shared topic, interleaved with ${Math.ceil(runs / 2)} in-process baseline runs`);
  const shared = await startRunbus(servers, { mode: "shared", backgroundReaper: false });
  const runbusSamples: RunTiming[] = [];
  const baselineFirst: number[] = [];
  const baselineTotal: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const timing = await shared.run(twoNodeRun());
    // The baseline after every other runbus run: half the samples, the same server state.
    const base = i % 2 === 0 ? await inProcess() : null;
    if (i % REAP_EVERY === REAP_EVERY - 1) await Promise.all([shared.reaper?.flush(), baseline.reaper.flush()]);
    if (i < warmup) continue;
    runbusSamples.push(timing);
    if (base) {
      baselineFirst.push(base.first);
      baselineTotal.push(base.total);
    }
  }
  await shared.stop();
  await baseline.close();

  // Per-run mode: time to the run's start and end on the audit topic (one long-lived consumer).
  log(`latency: ${perRunRuns} runs, per-run topics`);
  const perRun = await startRunbus(servers, { mode: "per-run", backgroundReaper: false });
  const perRunSamples: RunTiming[] = [];
  for (let i = 0; i < warmup + perRunRuns; i++) {
    const timing = await perRun.run(twoNodeRun());
    if (i % REAP_EVERY === REAP_EVERY - 1) await perRun.reaper?.flush();
    if (i >= warmup) perRunSamples.push(timing);
  }

  // What a fresh reader of a per-run topic waits: the runbus client's runs.create + runs.stream.
  log(`latency: ${readerRuns} runs read by a fresh per-run reader (runbus client)`);
  const client = createClient({ brokers: servers.brokers, topicPrefix: perRun.prefix, eventTopicMode: "per-run", replyTimeoutMs: 10_000 });
  const readerFirst: number[] = [];
  let missedReplies = 0;
  try {
    // Connects the client. A reply can be missed right after its reply group joins (see docs):
    // this first command absorbs that.
    await client.threads.create(benchId("warm"), {}, "do_nothing").catch(() => (missedReplies += 1));
    for (let i = 0; i < readerRuns; i++) {
      const threadId = benchId("thread");
      const t0 = performance.now();
      const reply = await client.runs.create({ thread_id: threadId, graph_id: "two_node", input: humanInput(), stream_mode: ["values"] });
      let first = Number.NaN;
      for await (const _event of client.runs.stream(reply.run_id)) if (Number.isNaN(first)) first = performance.now() - t0;
      readerFirst.push(first);
      perRun.reaper?.add(threadId);
    }
  } finally {
    await client.close();
    await perRun.stop();
  }

  // The topic creation alone, as the worker does it (one partition, wait for its leader).
  log(`latency: ${topicCreates} per-run topic creations`);
  const topicCreate = await measureTopicCreation(servers.brokers, topicCreates);

  const metadata = runbusSamples.map((t) => t.metadata ?? Number.NaN);
  const firstValues = runbusSamples.map((t) => t.firstValues ?? Number.NaN);
  const s = {
    runbus_metadata_ms: summarize(metadata),
    runbus_first_values_ms: summarize(firstValues),
    baseline_first_chunk_ms: summarize(baselineFirst),
    baseline_run_total_ms: summarize(baselineTotal),
    // Where the runbus time goes, from the worker's own stamps (epoch ms, same machine clock).
    runbus_breakdown_p50_ms: {
      command_to_metadata_emitted: summarize(runbusSamples.map((t) => t.workerMetadataAt ?? Number.NaN)).p50,
      metadata_emitted_to_running: summarize(runbusSamples.map((t) => (t.workerRunningAt ?? Number.NaN) - (t.workerMetadataAt ?? Number.NaN))).p50,
      running_to_values_emitted: summarize(runbusSamples.map((t) => (t.workerValuesAt ?? Number.NaN) - (t.workerRunningAt ?? Number.NaN))).p50,
      values_emitted_to_consumed: summarize(runbusSamples.map((t) => (t.firstValues ?? Number.NaN) - (t.workerValuesAt ?? Number.NaN))).p50,
    },
    shared_running_ms: summarize(runbusSamples.map((t) => t.running ?? Number.NaN)),
    per_run_running_ms: summarize(perRunSamples.map((t) => t.running ?? Number.NaN)),
    per_run_terminal_ms: summarize(perRunSamples.map((t) => t.terminal ?? Number.NaN)),
    shared_terminal_ms: summarize(runbusSamples.map((t) => t.terminal ?? Number.NaN)),
    shared_end_ms: summarize(runbusSamples.map((t) => t.end ?? Number.NaN)),
    shared_released_ms: summarize(runbusSamples.map((t) => t.released ?? Number.NaN)),
    per_run_topic_create_ms: summarize(topicCreate),
    per_run_fresh_reader_first_event_ms: summarize(readerFirst),
    client_first_reply_missed: missedReplies,
  };
  const addedP50 = round(s.runbus_first_values_ms.p50 - s.baseline_first_chunk_ms.p50);
  const summary = {
    ...s,
    added_p50_first_values_ms: addedP50,
    added_p50_metadata_ms: round(s.runbus_metadata_ms.p50 - s.baseline_first_chunk_ms.p50),
    ratio_p50_first_values: ratio(s.runbus_first_values_ms.p50, s.baseline_first_chunk_ms.p50),
    ratio_p95_first_values: ratio(s.runbus_first_values_ms.p95, s.baseline_first_chunk_ms.p95),
    ratio_p50_metadata: ratio(s.runbus_metadata_ms.p50, s.baseline_first_chunk_ms.p50),
    per_run_start_penalty_p50_ms: round(s.per_run_running_ms.p50 - s.shared_running_ms.p50),
  };
  return {
    name: "latency",
    title: "Latency: command to first event (two-node graph)",
    config: { runs, warmup, perRunRuns, topicCreates, readerRuns, graph: "two_node", stream_mode: ["values"], consumer: "one long-lived consumer group on the shared topic" },
    summary,
    samples: {
      runbus: runbusSamples.map((t) => ({ metadata: r(t.metadata), firstValues: r(t.firstValues), running: r(t.running), end: r(t.end), workerMetadataAt: t.workerMetadataAt, workerRunningAt: t.workerRunningAt, workerValuesAt: t.workerValuesAt })),
      baselineFirstChunk: baselineFirst.map(r),
      baselineTotal: baselineTotal.map(r),
      perRun: perRunSamples.map((t) => ({ running: r(t.running), terminal: r(t.terminal) })),
      topicCreate: topicCreate.map(r),
      freshReaderFirstEvent: readerFirst.map(r),
    },
    targets: [
      {
        name: "added latency p50",
        target: `runbus first values p50 − in-process first chunk p50 ≤ ${TARGET_ADDED_P50_MS} ms`,
        measured: `${addedP50} ms (${s.runbus_first_values_ms.p50} vs ${s.baseline_first_chunk_ms.p50} ms, ×${summary.ratio_p50_first_values})`,
        pass: addedP50 <= TARGET_ADDED_P50_MS,
      },
    ],
    notes: [],
  };
}

function r(value: number | undefined): number | null {
  return value === undefined || Number.isNaN(value) ? null : round(value);
}

async function measureTopicCreation(brokers: string[], count: number): Promise<number[]> {
  const kafka = new Kafka({ clientId: "runbus-bench-topics", brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const names: string[] = [];
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const topic = `bench.topic-create.${benchId("t")}`;
      const t0 = performance.now();
      // As runbus creates a run's topic: kafkajs's own wait fails on a broker that lags the controller.
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: false, timeout: 30_000 });
      await waitForTopicLeaders(admin, [topic]);
      samples.push(performance.now() - t0);
      names.push(topic);
    }
  } finally {
    for (let i = 0; i < names.length; i += 100) await admin.deleteTopics({ topics: names.slice(i, i + 100) }).catch(() => undefined);
    await admin.disconnect();
  }
  return samples;
}

/**
 * 3. Streaming: chunks/s forwarded for one model call streaming 10,000 tokens in `messages` mode,
 * measured where a consumer reads them: the shared topic (long-lived consumer) and a per-run
 * topic (a fresh runbus client reader). Baseline: iterating the same `graph.stream` in-process.
 */
import { createClient } from "../src/client/client.js";
import { streamingGraph } from "./graphs.js";
import { humanInput, openBaselineStore } from "./lib/baseline.js";
import { log, scaled } from "./lib/env.js";
import type { RunCreate } from "./lib/kafka.js";
import type { BenchResult } from "./lib/results.js";
import { benchId, startRunbus } from "./lib/runbus.js";
import type { BenchServers } from "./lib/servers.js";
import { ratio, round } from "./lib/stats.js";

const TARGET_OVERHEAD = 1.25;

export interface StreamSample {
  chunks: number;
  /** From the request to the first / last chunk, ms. */
  firstMs: number;
  lastMs: number;
  /** Chunks per second between the first and the last chunk. */
  chunksPerSecond: number;
}

export function streamSample(chunks: number, firstMs: number, lastMs: number): StreamSample {
  return { chunks, firstMs: round(firstMs), lastMs: round(lastMs), chunksPerSecond: round(chunks / Math.max(0.001, (lastMs - firstMs) / 1000)) };
}

/** A streaming run on a new thread: `tokens` `messages` chunks (the worker's `streamTokens`). */
export function streamingRun(): RunCreate {
  return { run_id: benchId("run"), thread_id: benchId("thread"), graph_id: "streaming", input: humanInput(), stream_mode: ["messages"] };
}

export function meanOf(xs: readonly StreamSample[], key: keyof StreamSample): number {
  return round(xs.reduce((sum, x) => sum + x[key], 0) / (xs.length || 1));
}

export async function streamingBenchmark(servers: BenchServers): Promise<BenchResult> {
  const tokens = scaled(10_000, 500);
  const reps = scaled(2, 1);
  const perRunReps = 1;

  log(`streaming: ${tokens} tokens × ${reps}, in-process baseline`);
  const store = await openBaselineStore(servers.mongodbUri, `bench_stream_${Date.now()}`);
  const graph = streamingGraph(tokens, { checkpointer: store.saver });
  const baseline: StreamSample[] = [];
  for (let i = 0; i < reps + 1; i++) {
    const t0 = performance.now();
    let first = 0;
    let last = 0;
    let chunks = 0;
    for await (const _chunk of await graph.stream(humanInput(), { configurable: { thread_id: benchId("base") }, streamMode: ["messages"] })) {
      last = performance.now() - t0;
      if (chunks++ === 0) first = last;
    }
    if (i > 0) baseline.push(streamSample(chunks, first, last)); // the first is a warm-up
  }
  await store.close();

  log(`streaming: ${tokens} tokens × ${reps}, runbus shared topic`);
  const shared = await startRunbus(servers, { mode: "shared", streamTokens: tokens });
  const sharedSamples: StreamSample[] = [];
  try {
    await shared.run({ run_id: benchId("warm"), thread_id: benchId("thread"), graph_id: "two_node", input: humanInput() });
    for (let i = 0; i < reps; i++) {
      const t = await shared.run(streamingRun());
      sharedSamples.push(streamSample(t.messages, t.firstMessages ?? Number.NaN, t.lastMessages ?? Number.NaN));
    }
  } finally {
    await shared.stop();
  }

  log(`streaming: ${tokens} tokens × ${perRunReps}, runbus per-run topic read by the runbus client`);
  const perRun = await startRunbus(servers, { mode: "per-run", streamTokens: tokens });
  const client = createClient({ brokers: servers.brokers, topicPrefix: perRun.prefix, eventTopicMode: "per-run" });
  const perRunSamples: StreamSample[] = [];
  try {
    await client.runs.wait({ thread_id: benchId("warm"), graph_id: "two_node", input: humanInput() }).catch(() => undefined);
    for (let i = 0; i < perRunReps; i++) {
      const threadId = benchId("thread");
      const t0 = performance.now();
      const reply = await client.runs.create({ thread_id: threadId, graph_id: "streaming", input: humanInput(), stream_mode: ["messages"] });
      let first = 0;
      let last = 0;
      let chunks = 0;
      for await (const event of client.runs.stream(reply.run_id)) {
        if (event.name !== "messages") continue;
        last = performance.now() - t0;
        if (chunks++ === 0) first = last;
      }
      perRun.reaper?.add(threadId);
      perRunSamples.push(streamSample(chunks, first, last));
    }
  } finally {
    await client.close();
    await perRun.stop();
  }

  const mean = meanOf;
  const summary = {
    tokens,
    baseline_chunks_per_s: mean(baseline, "chunksPerSecond"),
    shared_chunks_per_s: mean(sharedSamples, "chunksPerSecond"),
    per_run_chunks_per_s: mean(perRunSamples, "chunksPerSecond"),
    baseline_last_chunk_ms: mean(baseline, "lastMs"),
    shared_last_chunk_ms: mean(sharedSamples, "lastMs"),
    per_run_last_chunk_ms: mean(perRunSamples, "lastMs"),
    /** Time to stream everything, runbus over in-process: the overhead the target is about. */
    shared_overhead: ratio(mean(sharedSamples, "lastMs"), mean(baseline, "lastMs")),
    per_run_overhead: ratio(mean(perRunSamples, "lastMs"), mean(baseline, "lastMs")),
    shared_rate_ratio: ratio(mean(sharedSamples, "chunksPerSecond"), mean(baseline, "chunksPerSecond")),
    per_run_rate_ratio: ratio(mean(perRunSamples, "chunksPerSecond"), mean(baseline, "chunksPerSecond")),
  };
  return {
    name: "streaming",
    title: `Streaming: ${tokens} tokens in messages mode`,
    config: { tokens, reps, perRunReps, warmup: "baseline: one streaming run; runbus: one two-node run", stream_mode: ["messages"], graph: "streaming (ScriptedChatModel, one chunk per token)" },
    summary,
    samples: { baseline, shared: sharedSamples, perRun: perRunSamples },
    targets: [
      {
        name: "streaming overhead (shared)",
        target: `time to the last chunk ≤ ${TARGET_OVERHEAD}× in-process`,
        measured: `×${summary.shared_overhead} (${summary.shared_chunks_per_s} vs ${summary.baseline_chunks_per_s} chunks/s)`,
        pass: summary.shared_overhead === null ? null : summary.shared_overhead <= TARGET_OVERHEAD,
      },
      {
        name: "streaming overhead (per-run)",
        target: `time to the last chunk ≤ ${TARGET_OVERHEAD}× in-process`,
        measured: `×${summary.per_run_overhead} (${summary.per_run_chunks_per_s} vs ${summary.baseline_chunks_per_s} chunks/s)`,
        pass: summary.per_run_overhead === null ? null : summary.per_run_overhead <= TARGET_OVERHEAD,
      },
    ],
    notes: [],
  };
}

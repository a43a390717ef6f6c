/**
 * 6. Where the time goes: the worker under `node --cpu-prof` (two-node load at 8 threads, and one
 * streaming run), the MongoDB commands it sends per run, the Kafka round trips it waits on, the
 * cost of a per-run topic, and how the MongoDB server's upsert cost grows with a collection. Evidence for
 * docs/benchmarks.md; nothing here is a target.
 */
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { waitForTopicLeaders } from "../src/adapters/kafka/topic-admin.js";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { MongoClient } from "mongodb";
import { BatchingProducer } from "../src/adapters/kafka/batching-producer.js";
import { humanInput } from "./lib/baseline.js";
import { summarizeProfile, type ProfileSummary } from "./lib/cpuprofile.js";
import { log, resultsDir, scaled, scaledMs } from "./lib/env.js";
import { closedLoop } from "./lib/load.js";
import type { BenchResult } from "./lib/results.js";
import { benchId, startRunbus } from "./lib/runbus.js";
import type { BenchServers } from "./lib/servers.js";
import { round, summarize } from "./lib/stats.js";

export async function profileBenchmark(servers: BenchServers): Promise<BenchResult> {
  const dir = join(resultsDir, "profiles");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // One directory per worker: tsx's loader thread writes a profile of its own (thread id ≠ 0).
  const cpuProf = (name: string) => ["--cpu-prof", `--cpu-prof-dir=${join(dir, name)}`];

  // A. Two-node runs at 8 threads, with the worker's MongoDB commands counted.
  const loadWindowMs = scaledMs(8, 2);
  log("profile: two-node load at 8 threads under --cpu-prof, MongoDB commands counted");
  const a = await startRunbus(servers, { mode: "shared", monitorCommands: true, nodeArgs: cpuProf("worker-two-node") });
  let runs = 0;
  let commands: Record<string, { count: number; ms: number }> = {};
  const windows: Record<string, { fromUs: number; toUs: number }> = {};
  const mark = async (child: typeof a.worker) => (await child.call<{ type: string; us: number }>({ type: "mark" }, "mark")).us;
  try {
    await a.worker.call({ type: "mongo-stats" }, "mongo-stats");
    const fromUs = await mark(a.worker);
    await closedLoop({
      concurrency: 8,
      warmupMs: 1000,
      windowMs: loadWindowMs,
      runOnce: async () => {
        await a.run({ run_id: benchId("run"), thread_id: benchId("thread"), graph_id: "two_node", input: humanInput(), stream_mode: ["values"] });
        runs += 1;
      },
    });
    windows["worker-two-node"] = { fromUs, toUs: await mark(a.worker) };
    commands = (await a.worker.call<{ type: string; commands: typeof commands }>({ type: "mongo-stats" }, "mongo-stats")).commands;
  } finally {
    await a.stop();
  }
  const perRun = Object.entries(commands)
    .map(([command, { count, ms }]) => ({ command, per_run: round(count / runs, 2), mean_ms: round(ms / count), ms_per_run: round(ms / runs) }))
    .sort((x, y) => y.ms_per_run - x.ms_per_run);
  const mongoPerRun = {
    runs,
    commands_per_run: round(perRun.reduce((s, c) => s + c.per_run, 0), 1),
    command_ms_per_run: round(perRun.reduce((s, c) => s + c.ms_per_run, 0), 1),
    by_command: perRun,
  };

  // B. One streaming run.
  const tokens = scaled(5000, 500);
  log(`profile: one ${tokens}-token streaming run under --cpu-prof`);
  const b = await startRunbus(servers, { mode: "shared", streamTokens: tokens, nodeArgs: cpuProf("worker-streaming") });
  let streamMs = 0;
  try {
    const fromUs = await mark(b.worker);
    const t = await b.run({ run_id: benchId("run"), thread_id: benchId("thread"), graph_id: "streaming", input: humanInput(), stream_mode: ["messages"] });
    streamMs = (t.lastMessages ?? 0) - (t.firstMessages ?? 0);
    windows["worker-streaming"] = { fromUs, toUs: await mark(b.worker) };
  } finally {
    await b.stop();
  }

  // C. Kafka: one awaited acks=all send at a time (what each streamed chunk waits for) vs the
  // worker's BatchingProducer fed without waiting per record.
  log("profile: Kafka produce round trips");
  const kafka = new Kafka({ clientId: "runbus-bench-rtt", brokers: servers.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `bench.rtt.${benchId("t")}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: false });
  await waitForTopicLeaders(admin, [topic]);
  const producer = new BatchingProducer(kafka);
  await producer.connect();
  const value = JSON.stringify({ content: "w123 ", type: "AIMessageChunk", id: "run-x", tool_calls: [] });
  const rtt: number[] = [];
  for (let i = 0; i < scaled(300, 30); i++) {
    const t0 = performance.now();
    await producer.send(topic, { key: "k", value });
    rtt.push(performance.now() - t0);
  }
  const pipelined = scaled(10_000, 1000);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: pipelined }, () => producer.send(topic, { key: "k", value })));
  const pipelinedPerSecond = round(pipelined / ((performance.now() - t0) / 1000));
  await producer.close();

  // D. A per-run topic: createTopics with and without waiting for the partition leader.
  log("profile: per-run topic creation, with and without waitForLeaders");
  const create = async (waitForLeaders: boolean) => {
    const samples: number[] = [];
    const names: string[] = [];
    for (let i = 0; i < scaled(30, 5); i++) {
      const name = `bench.create.${benchId("t")}`;
      const s = performance.now();
      await admin.createTopics({ topics: [{ topic: name, numPartitions: 1 }], waitForLeaders });
      samples.push(performance.now() - s);
      names.push(name);
    }
    await admin.deleteTopics({ topics: names }).catch(() => undefined);
    return summarize(samples);
  };
  // The candidate fix: create without kafkajs's wait, then poll the metadata every 5 ms.
  const createThenPoll = async () => {
    const samples: number[] = [];
    const names: string[] = [];
    for (let i = 0; i < scaled(30, 5); i++) {
      const name = `bench.create.${benchId("t")}`;
      const s = performance.now();
      await admin.createTopics({ topics: [{ topic: name, numPartitions: 1 }], waitForLeaders: false });
      for (;;) {
        const led = await admin
          .fetchTopicMetadata({ topics: [name] })
          .then(({ topics }) => topics[0]?.partitions.every((p) => p.leader >= 0) ?? false)
          .catch(() => false);
        if (led) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      samples.push(performance.now() - s);
      names.push(name);
    }
    await admin.deleteTopics({ topics: names }).catch(() => undefined);
    return summarize(samples);
  };
  const topicCreate = { waitForLeaders: await create(true), noWait: await create(false), noWaitThenPoll5ms: await createThenPoll() };
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();

  // E. The MongoDB server's upsert cost as a collection grows: what lib/reaper.ts guards against.
  log("profile: MongoDB server upsert cost against collection size");
  const scan = await upsertCostBySize(servers.mongodbUri, [100, 500, 1000, 2000]);

  const profiles: ProfileSummary[] = ["worker-two-node", "worker-streaming"].flatMap((name) => {
    // CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile: the main thread is tid 0.
    const main = readdirSync(join(dir, name)).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    return main ? [{ ...summarizeProfile(join(dir, name, main), windows[name]), file: `bench/results/profiles/${name}/${main}` }] : [];
  });
  return {
    name: "profile",
    title: "Where the time goes (profiles and round trips)",
    config: { loadWindowMs, loadConcurrency: 8, streamTokens: tokens, profilesDir: "bench/results/profiles" },
    summary: {
      mongo_per_run: mongoPerRun,
      kafka: {
        awaited_send_rtt_ms: summarize(rtt),
        awaited_sends_per_s_p50: round(1000 / summarize(rtt).p50),
        pipelined_sends_per_s: pipelinedPerSecond,
        streaming_chunks_per_s_under_profile: round(tokens / Math.max(0.001, streamMs / 1000)),
      },
      topic_create_ms: topicCreate,
      upsert_cost_by_size: scan,
      cpu: profiles,
    },
    samples: { rtt: rtt.map((v) => round(v)) },
    targets: [],
    notes: [],
  };
}

/** Upserts of new keys, as MongoDBSaver's put (a new checkpoint id at every step), and updates by _id. */
async function upsertCostBySize(uri: string, sizes: number[]): Promise<Array<{ documents: number; upsert_ms: number; upsert_by_id_ms: number }>> {
  const client = await new MongoClient(uri).connect();
  const db = client.db(`bench_scan_${Date.now()}`);
  const col = db.collection<{ _id: string; thread_id: string; checkpoint_ns: string; checkpoint_id: string; checkpoint: Buffer }>("checkpoints");
  const blob = Buffer.alloc(600, 7);
  const out: Array<{ documents: number; upsert_ms: number; upsert_by_id_ms: number }> = [];
  let n = 0;
  try {
    for (const size of sizes) {
      const docs = [];
      for (; n < size; n++) docs.push({ _id: `d${n}`, thread_id: `t${n}`, checkpoint_ns: "", checkpoint_id: `c${n}`, checkpoint: blob });
      if (docs.length) await col.insertMany(docs);
      const reps = 10;
      let s = performance.now();
      for (let i = 0; i < reps; i++) await col.updateOne({ thread_id: `new${size}-${i}`, checkpoint_ns: "", checkpoint_id: "c" }, { $set: { checkpoint: blob } }, { upsert: true });
      const byFields = (performance.now() - s) / reps;
      await col.deleteMany({ thread_id: { $regex: /^new/ } });
      s = performance.now();
      for (let i = 0; i < reps; i++) await col.updateOne({ _id: `d${size - 1 - i}` }, { $set: { checkpoint: blob } });
      out.push({ documents: size, upsert_ms: round(byFields), upsert_by_id_ms: round((performance.now() - s) / reps) });
    }
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
  return out;
}

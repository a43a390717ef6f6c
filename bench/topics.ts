/**
 * 8. Per-run topic scale: what one topic per run costs the broker as run topics pile up, and
 * what the alternative, RUNBUS_EVENT_TOPIC_MODE=shared, costs a reader.
 *
 * Run topics are created as a worker creates them on admission (KafkaTopicAdmin.ensureRunTopic:
 * one partition, the broker's retention, the janitor deletes them) up to 10,000 (5,000 below
 * BENCH_SCALE 1). At 0, 1k, 5k and 10k existing topics a window of creations is timed, one at a
 * time and 8 at once, and the broker process is read from /proc (RSS, open files, memory maps,
 * against its limits) with the size of its KRaft metadata log. Then every topic is deleted the
 * way the janitor sweeps (list the run topics, delete a batch). Before any of that, on a fresh
 * broker: N runs' synthetic events on one shared topic (KafkaEventSink, shared mode) and runbus's
 * own reader (readRun) of one run, counting the Fetch bytes its consumer receives against the
 * bytes of its own run's records.
 */
import { randomUUID } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Admin, Kafka } from "kafkajs";
import { BatchingProducer } from "../src/adapters/kafka/batching-producer.js";
import { KafkaEventSink } from "../src/adapters/kafka/event-sink.js";
import { KafkaTopicAdmin, waitForTopicLeaders } from "../src/adapters/kafka/topic-admin.js";
import { Topics } from "../src/adapters/kafka/topics.js";
import { readRun, type StreamedEvent } from "../src/client/run-reader.js";
import { loadConfig } from "../src/config.js";
import { messageOf } from "../src/errors.js";
import { silentLogger } from "../src/logger.js";
import type { RunEvent } from "../src/protocol/events.js";
import { SCALE, log, scaled } from "./lib/env.js";
import { benchKafka } from "./lib/kafka.js";
import { cpuMsOf } from "./lib/proc-cpu.js";
import type { BenchResult } from "./lib/results.js";
import type { BenchServers } from "./lib/servers.js";
import { ratio, round, summarize, type Summary } from "./lib/stats.js";

/** runbus's own defaults: the janitor's retention and the shared topic's partitions. */
const DEFAULTS = loadConfig({});
/** Creations in flight in the concurrent windows: several workers (or one busy one) admitting runs at once. */
const CONCURRENCY = 8;
/** Topics per CreateTopics request between the marks (not timed): the broker's creation cost without the client's. */
const FILL_BATCH = 100;
/** Topics per janitor sweep while deleting. */
const DELETE_BATCH = 500;
/** How long to wait for the broker to let go of deleted topics' files (file.delete.delay.ms is 60 s by default). */
const RELEASE_WAIT_MS = 90_000;
/** What counts as sound, for the recommendation: creation no slower than this against an empty broker… */
export const SOUND_P50_RATIO = 1.5;
/** p95, not p99: a window's p99 is its two slowest creations, which one GC pause or burst of load decides. */
export const SOUND_P95_RATIO = 2;
/** …and the broker's open files and memory maps below this share of their limits. */
export const SOUND_LIMIT_SHARE = 0.5;

interface Ctx {
  kafka: Kafka;
  admin: Admin;
  topicAdmin: KafkaTopicAdmin;
  topics: Topics;
  /** Every topic this benchmark asked for, for the cleanup. */
  created: string[];
  brokerPid: number | undefined;
}

export interface BrokerProc {
  rss_mib: number;
  fds: number;
  maps: number;
  threads: number;
}

export interface BrokerLimits {
  /** The broker process's soft "Max open files" (its `ulimit -n`). */
  max_open_files: number | null;
  /** vm.max_map_count: memory maps per process. */
  max_map_count: number | null;
  /** The JVM's -Xmx, MiB. */
  heap_max_mib: number | null;
}

export interface MetadataSize {
  /** __cluster_metadata-0/*.log: the controller's metadata log. */
  log_kib: number;
  snapshots: number;
  /** The newest metadata snapshot (*.checkpoint), 0 when there is none yet. */
  latest_snapshot_kib: number;
}

export interface MarkResult {
  /** Run topics of this benchmark when the window began. */
  existing: number;
  /** Topics on the cluster (listTopics), all of them. */
  cluster_topics: number;
  broker: BrokerProc | null;
  metadata: MetadataSize | null;
  sequential_ms: Summary;
  concurrent_ms: Summary;
  sequential_topics_per_s: number;
  concurrent_topics_per_s: number;
  ratio_p50_sequential: number | null;
  ratio_p99_sequential: number | null;
  ratio_p50_concurrent: number | null;
  ratio_p99_concurrent: number | null;
  /** The broker's CPU per creation over both windows. */
  broker_cpu_ms_per_topic: number | null;
  /** Requests the admin client sent per creation, and the KiB of Metadata responses it received. */
  admin_requests_per_topic: number;
  admin_metadata_kib_per_topic: number;
  /** admin.listTopics(): what a reader's topic wait and each janitor sweep ask for. */
  list_topics_ms: number;
  list_topics_response_kib: number | null;
  failed: number;
  /** Creations between the previous mark and this one (untimed, FILL_BATCH to a request). */
  fill_topics_per_s: number | null;
}

export interface SharedReaderLevel {
  runs_on_topic: number;
  reads: number;
  own_kib: number;
  fetched_kib: number;
  /** Fetched / own bytes, mean over the reads: the baseline is the reader's own run's records. */
  ratio_fetched_to_own: number | null;
  ratio_max: number | null;
  records_scanned_per_own_record: number | null;
  read_ms: number;
}

/** One run's events as a model-calling graph in `messages` + `values` + `updates` modes emits them. */
function runEvents(runId: string): RunEvent[] {
  const threadId = randomUUID();
  const taskId = randomUUID();
  const at = new Date().toISOString();
  const human = { type: "human", id: randomUUID(), content: "Summarise the quarterly report for the board in three short paragraphs, with the key figures.".repeat(2) };
  const words = "Revenue grew twelve percent on the quarter while operating costs stayed flat, which lifted the margin ".split(" ");
  const aiText = Array.from({ length: 30 }, (_, i) => words[i % words.length]).join(" ");
  const ai = { type: "ai", id: `run-${taskId}`, content: aiText, tool_calls: [], invalid_tool_calls: [], additional_kwargs: {}, response_metadata: { model_name: "gpt-4o-mini", finish_reason: "stop" }, usage_metadata: { input_tokens: 412, output_tokens: 30, total_tokens: 442 } };
  const chunkMeta = {
    langgraph_step: 1,
    langgraph_node: "agent",
    langgraph_triggers: ["branch:to:agent"],
    langgraph_path: ["__pregel_pull", "agent"],
    langgraph_checkpoint_ns: `agent:${taskId}`,
    checkpoint_ns: `agent:${taskId}`,
    ls_provider: "openai",
    ls_model_name: "gpt-4o-mini",
    ls_model_type: "chat",
    ls_temperature: 0,
    thread_id: threadId,
    run_id: runId,
  };
  const data: Array<[string, unknown]> = [
    ["metadata", { run_id: runId, thread_id: threadId, attempt: 1 }],
    ["values", { messages: [human] }],
    ...Array.from({ length: 30 }, (_, i): [string, unknown] => [
      "messages",
      [{ type: "AIMessageChunk", id: `run-${taskId}`, content: `${words[i % words.length]} `, tool_calls: [], tool_call_chunks: [], additional_kwargs: {}, response_metadata: {} }, chunkMeta],
    ]),
    ["updates", { agent: { messages: [ai] } }],
    ["values", { messages: [human, ai] }],
    ["end", { status: "success" }],
  ];
  return data.map(([name, d], seq) => ({ run_id: runId, thread_id: threadId, seq, name, data: d, at }));
}

/** The bytes of a record as the reader got it: key (the run id), value and headers. */
function recordBytes(event: StreamedEvent): number {
  const headers = Object.entries(event.headers).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  return Buffer.byteLength(event.run_id) + Buffer.byteLength(JSON.stringify(event.data)) + headers;
}

interface ReadTally {
  fetchBytes: number;
  fetches: number;
  /** Records the reader's consumer processed, its own and other runs'. */
  scanned: number;
}

/** `kafka` whose consumers report their Fetch responses' sizes and the records they process into `tally`. */
function countingKafka(kafka: Kafka, tally: ReadTally): Kafka {
  return new Proxy(kafka, {
    get(target, prop, receiver) {
      if (prop !== "consumer") return Reflect.get(target, prop, receiver) as unknown;
      return (...args: Parameters<Kafka["consumer"]>) => {
        const consumer = target.consumer(...args);
        consumer.on(consumer.events.REQUEST, ({ payload }) => {
          if (payload.apiName !== "Fetch") return;
          tally.fetchBytes += payload.size;
          tally.fetches += 1;
        });
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          tally.scanned += payload.batchSize;
        });
        return consumer;
      };
    },
  });
}

/** One read of `runId` by runbus's reader: the bytes its consumer fetched and those of its own records. */
async function measuredRead(ctx: Ctx, runId: string, mode: "per-run" | "shared"): Promise<{ fetched: number; own: number; ownRecords: number; scanned: number; ms: number }> {
  const tally: ReadTally = { fetchBytes: 0, fetches: 0, scanned: 0 };
  let own = 0;
  let ownRecords = 0;
  const t0 = performance.now();
  for await (const event of readRun(countingKafka(ctx.kafka, tally), ctx.admin, ctx.topics, runId, mode, { topicWaitMs: 30_000 })) {
    own += recordBytes(event);
    ownRecords += 1;
  }
  return { fetched: tally.fetchBytes, own, ownRecords, scanned: tally.scanned, ms: performance.now() - t0 };
}

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Emits the events of `runIds` through `sink`, a few runs at once as concurrent runs would. */
async function emitRuns(sink: KafkaEventSink, runIds: readonly string[]): Promise<void> {
  await pool(runIds, 20, async (runId) => {
    await sink.open(runId);
    await Promise.all(runEvents(runId).map((event) => sink.emit(event)));
  });
}

/**
 * The shared-topic reader's cost: for N runs on the shared topic, the bytes one run's reader
 * fetches against its own run's bytes; beside it the same read on a per-run topic.
 */
async function sharedReaderCost(ctx: Ctx, levels: number[], reads: number): Promise<{ levels: SharedReaderLevel[]; perRun: SharedReaderLevel; samples: unknown[] }> {
  const shared = ctx.topics.sharedRunEvents;
  ctx.created.push(shared);
  await ctx.admin.createTopics({ topics: [{ topic: shared, numPartitions: DEFAULTS.commandPartitions }], waitForLeaders: false });
  await waitForTopicLeaders(ctx.admin, [shared]);
  const producer = new BatchingProducer(ctx.kafka);
  await producer.connect();
  const sinkOf = (mode: "per-run" | "shared") => new KafkaEventSink(producer, ctx.topicAdmin, ctx.topics, { mode, source: "runbus-bench-topics", kafka: ctx.kafka, admin: ctx.admin });
  const samples: unknown[] = [];
  const level = (runsOnTopic: number, measured: Array<Awaited<ReturnType<typeof measuredRead>>>): SharedReaderLevel => {
    const ratios = measured.map((m) => m.fetched / m.own);
    const sum = (key: "fetched" | "own" | "ownRecords" | "scanned" | "ms") => measured.reduce((s, m) => s + m[key], 0);
    return {
      runs_on_topic: runsOnTopic,
      reads: measured.length,
      own_kib: round(sum("own") / measured.length / 1024),
      fetched_kib: round(sum("fetched") / measured.length / 1024),
      ratio_fetched_to_own: ratio(sum("fetched"), sum("own")),
      ratio_max: ratios.length ? round(Math.max(...ratios), 3) : null,
      records_scanned_per_own_record: ratio(sum("scanned"), sum("ownRecords")),
      read_ms: round(sum("ms") / measured.length),
    };
  };
  try {
    const out: SharedReaderLevel[] = [];
    const runIds: string[] = [];
    const sharedSink = sinkOf("shared");
    for (const n of levels) {
      const more = Array.from({ length: n - runIds.length }, () => randomUUID());
      await emitRuns(sharedSink, more);
      runIds.push(...more);
      // Runs spread over the topic: a reader stops at its run's `end`, so where it sits matters.
      const targets = Array.from({ length: Math.min(reads, n) }, (_, i) => runIds[Math.floor(((i + 0.5) / Math.min(reads, n)) * n)]!);
      const measured = [];
      for (const runId of targets) measured.push(await measuredRead(ctx, runId, "shared"));
      out.push(level(n, measured));
      samples.push({ mode: "shared", runs_on_topic: n, reads: measured.map((m) => ({ ...m, ms: round(m.ms) })) });
      log(`topics: shared reader, ${n} runs on the topic: fetched ×${out.at(-1)!.ratio_fetched_to_own} its own run's bytes`);
    }
    // The same read on a run's own topic: what a reader fetches beyond its records when nothing else is there.
    const perRunIds = Array.from({ length: reads }, () => randomUUID());
    ctx.created.push(...perRunIds.map((id) => ctx.topics.run(id)));
    await emitRuns(sinkOf("per-run"), perRunIds);
    const measured = [];
    for (const runId of perRunIds) measured.push(await measuredRead(ctx, runId, "per-run"));
    samples.push({ mode: "per-run", reads: measured.map((m) => ({ ...m, ms: round(m.ms) })) });
    // Gone before the scale windows, which count from an empty broker.
    await ctx.topicAdmin.deleteTopics([shared, ...perRunIds.map((id) => ctx.topics.run(id))]);
    return { levels: out, perRun: level(1, measured), samples };
  } finally {
    await producer.close().catch(() => undefined);
  }
}

interface Creations {
  latencies: number[];
  wallMs: number;
  failed: number;
  firstError?: string;
}

/** `count` run topics created as a worker creates them, `concurrency` at once; each creation's ms. */
async function createRunTopics(ctx: Ctx, count: number, concurrency: number): Promise<Creations> {
  const latencies: number[] = [];
  const result: Creations = { latencies, wallMs: 0, failed: 0 };
  const t0 = performance.now();
  await pool(
    Array.from({ length: count }, () => randomUUID()),
    concurrency,
    async (runId) => {
      ctx.created.push(ctx.topics.run(runId));
      const start = performance.now();
      try {
        await ctx.topicAdmin.ensureRunTopic(runId);
        latencies.push(performance.now() - start);
      } catch (error) {
        result.failed += 1;
        result.firstError ??= messageOf(error);
        latencies.push(Number.NaN);
      }
    },
  );
  result.wallMs = performance.now() - t0;
  return result;
}

function brokerProc(pid: number | undefined): BrokerProc | null {
  if (pid === undefined) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? Number.NaN);
    return {
      rss_mib: round(field("VmRSS") / 1024, 1),
      fds: readdirSync(`/proc/${pid}/fd`).length,
      maps: readFileSync(`/proc/${pid}/maps`, "utf8").split("\n").filter(Boolean).length,
      threads: field("Threads"),
    };
  } catch {
    return null;
  }
}

function brokerLimits(pid: number | undefined): BrokerLimits {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return null;
    }
  };
  const limits = pid === undefined ? null : read(`/proc/${pid}/limits`);
  const openFiles = limits ? /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1] : undefined;
  const maps = read("/proc/sys/vm/max_map_count");
  const xmx = /-Xmx(\d+)([kmg])/i.exec(brokerArgs(pid).join(" "));
  const mib = xmx ? Number(xmx[1]) * ({ k: 1 / 1024, m: 1, g: 1024 }[xmx[2]!.toLowerCase() as "k" | "m" | "g"] ?? 1) : null;
  return {
    max_open_files: openFiles && openFiles !== "unlimited" ? Number(openFiles) : null,
    max_map_count: maps ? Number(maps.trim()) : null,
    heap_max_mib: mib,
  };
}

function brokerArgs(pid: number | undefined): string[] {
  if (pid === undefined) return [];
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** The broker's metadata log directory, from the server.properties it was started with. */
function metadataDir(pid: number | undefined): string | null {
  const file = brokerArgs(pid).findLast((arg) => arg.endsWith(".properties"));
  if (!file) return null;
  try {
    const props = Object.fromEntries(
      readFileSync(file, "utf8")
        .split("\n")
        .map((line) => /^\s*([^#=\s]+)\s*=\s*(.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!.trim()]),
    );
    const dir = props["metadata.log.dir"] ?? props["log.dirs"]?.split(",")[0] ?? props["log.dir"];
    return dir ? join(dir, "__cluster_metadata-0") : null;
  } catch {
    return null;
  }
}

function metadataSize(dir: string | null): MetadataSize | null {
  if (!dir) return null;
  try {
    const files = readdirSync(dir).map((name) => ({ name, bytes: statSync(join(dir, name)).size }));
    // Not the .index files: Kafka preallocates them (sparse), so their size says nothing.
    const logBytes = files.filter((f) => f.name.endsWith(".log")).reduce((sum, f) => sum + f.bytes, 0);
    const snapshots = files.filter((f) => f.name.endsWith(".checkpoint")).sort((a, b) => a.name.localeCompare(b.name));
    return { log_kib: round(logBytes / 1024, 1), snapshots: snapshots.length, latest_snapshot_kib: round((snapshots.at(-1)?.bytes ?? 0) / 1024, 1) };
  } catch {
    return null;
  }
}

/** listTopics timed, with the size of the Metadata responses it took. */
async function timedListTopics(admin: Admin): Promise<{ ms: number; topics: number; kib: number | null }> {
  let bytes = 0;
  const off = admin.on(admin.events.REQUEST, ({ payload }) => {
    if (payload.apiName === "Metadata") bytes += payload.size;
  });
  const ms: number[] = [];
  let topics = 0;
  try {
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      topics = (await admin.listTopics()).length;
      ms.push(performance.now() - t0);
    }
  } finally {
    off();
  }
  return { ms: summarize(ms).p50, topics, kib: bytes ? round(bytes / 5 / 1024, 1) : null };
}

async function measureMark(ctx: Ctx, window: number, base: MarkResult | null, fillTopicsPerS: number | null): Promise<{ mark: MarkResult; raw: Record<string, Array<number | null>> }> {
  const existing = ctx.created.length;
  const list = await timedListTopics(ctx.admin);
  const broker = brokerProc(ctx.brokerPid);
  const metadata = metadataSize(metadataDir(ctx.brokerPid));
  const cpu0 = ctx.brokerPid === undefined ? null : cpuMsOf(ctx.brokerPid);
  // kafkajs's createTopics refreshes the cluster metadata first: with no topics of interest, every topic's.
  const requests = { metadataBytes: 0, all: 0 };
  const off = ctx.admin.on(ctx.admin.events.REQUEST, ({ payload }) => {
    requests.all += 1;
    if (payload.apiName === "Metadata") requests.metadataBytes += payload.size;
  });
  let sequential: Creations;
  let concurrent: Creations;
  try {
    sequential = await createRunTopics(ctx, window, 1);
    concurrent = await createRunTopics(ctx, window, CONCURRENCY);
  } finally {
    off();
  }
  const cpu1 = ctx.brokerPid === undefined ? null : cpuMsOf(ctx.brokerPid);
  for (const c of [sequential, concurrent]) if (c.firstError) log(`topics: ${c.failed} creations failed at ${existing} topics, the first with: ${c.firstError}`);
  const seq = summarize(sequential.latencies);
  const conc = summarize(concurrent.latencies);
  const mark: MarkResult = {
    existing,
    cluster_topics: list.topics,
    broker,
    metadata,
    sequential_ms: seq,
    concurrent_ms: conc,
    sequential_topics_per_s: round((window / sequential.wallMs) * 1000, 1),
    concurrent_topics_per_s: round((window / concurrent.wallMs) * 1000, 1),
    ratio_p50_sequential: ratio(seq.p50, base?.sequential_ms.p50 ?? seq.p50),
    ratio_p99_sequential: ratio(seq.p99, base?.sequential_ms.p99 ?? seq.p99),
    ratio_p50_concurrent: ratio(conc.p50, base?.concurrent_ms.p50 ?? conc.p50),
    ratio_p99_concurrent: ratio(conc.p99, base?.concurrent_ms.p99 ?? conc.p99),
    broker_cpu_ms_per_topic: cpu0 === null || cpu1 === null ? null : round((cpu1 - cpu0) / (2 * window), 2),
    admin_requests_per_topic: round(requests.all / (2 * window), 1),
    admin_metadata_kib_per_topic: round(requests.metadataBytes / (2 * window) / 1024, 1),
    list_topics_ms: round(list.ms),
    list_topics_response_kib: list.kib,
    failed: sequential.failed + concurrent.failed,
    fill_topics_per_s: fillTopicsPerS,
  };
  log(
    `topics: at ${existing} topics: create p50/p99 ${seq.p50}/${seq.p99} ms one at a time, ${conc.p50}/${conc.p99} ms ${CONCURRENCY} at once; ` +
      `broker RSS ${broker?.rss_mib ?? "?"} MiB, ${broker?.fds ?? "?"} fds, ${broker?.maps ?? "?"} maps; metadata log ${metadata?.log_kib ?? "?"} KiB`,
  );
  const raw = (c: Creations) => c.latencies.map((ms) => (Number.isFinite(ms) ? round(ms) : null));
  return { mark, raw: { sequential: raw(sequential), concurrent: raw(concurrent) } };
}

export interface Deletion {
  topics: number;
  sweeps: number;
  wall_ms: number;
  topics_per_s: number;
  /** Time in DeleteTopics calls alone, without the janitor's listing. */
  delete_call_topics_per_s: number;
  list_ms: Summary;
  delete_call_ms: Summary;
  /** From the first sweep until listTopics no longer lists any of them. */
  gone_from_metadata_ms: number;
  /** The broker once the topics were gone from the metadata. */
  broker_at_gone: BrokerProc | null;
  /** From the first sweep until the broker's open files were back near where they were with no run topics; null: not within RELEASE_WAIT_MS. */
  resources_released_ms: number | null;
  broker_after: BrokerProc | null;
  metadata_after: MetadataSize | null;
}

/**
 * `count` run topics as runbus names and configures them, FILL_BATCH to a CreateTopics request,
 * each batch's leaders awaited: the untimed way from one mark to the next.
 */
async function fillRunTopics(ctx: Ctx, count: number): Promise<number> {
  const t0 = performance.now();
  for (let done = 0; done < count; done += FILL_BATCH) {
    const names = Array.from({ length: Math.min(FILL_BATCH, count - done) }, () => ctx.topics.run(randomUUID()));
    ctx.created.push(...names);
    await ctx.admin.createTopics({ topics: names.map((topic) => ({ topic, numPartitions: 1 })), waitForLeaders: false, timeout: 60_000 });
    await waitForTopicLeaders(ctx.admin, names, 60_000);
  }
  return round((count / (performance.now() - t0)) * 1000, 1);
}

/** Deletes every run topic of this benchmark as the janitor sweeps: list the run topics, delete a batch. */
async function deleteAsJanitor(ctx: Ctx, baseFds: number | null): Promise<Deletion> {
  const ours = new Set(ctx.created);
  const deleted = new Set<string>();
  const listMs: number[] = [];
  const deleteMs: number[] = [];
  const t0 = performance.now();
  for (;;) {
    const l0 = performance.now();
    const listed = await ctx.topicAdmin.listRunTopics();
    listMs.push(performance.now() - l0);
    const batch = listed.filter((topic) => ours.has(topic) && !deleted.has(topic)).slice(0, DELETE_BATCH);
    if (batch.length === 0) break;
    const d0 = performance.now();
    await ctx.topicAdmin.deleteTopics(batch);
    deleteMs.push(performance.now() - d0);
    for (const topic of batch) deleted.add(topic);
  }
  const wall = performance.now() - t0;
  for (;;) {
    const left = (await ctx.admin.listTopics()).filter((topic) => ours.has(topic));
    if (left.length === 0 || performance.now() - t0 > 120_000) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const gone = performance.now() - t0;
  // The broker closes a deleted log's files and unmaps its indexes when it deletes the files
  // (file.delete.delay.ms after the topic's deletion): wait for the open files to come down.
  const peak = brokerProc(ctx.brokerPid);
  let released: number | null = null;
  while (peak && baseFds !== null && performance.now() - t0 < RELEASE_WAIT_MS) {
    const now = brokerProc(ctx.brokerPid);
    if (!now || now.fds <= baseFds + 0.05 * Math.max(0, peak.fds - baseFds)) {
      released = performance.now() - t0;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const deleteTotal = deleteMs.reduce((s, v) => s + v, 0);
  return {
    topics: deleted.size,
    sweeps: deleteMs.length,
    wall_ms: round(wall, 0),
    topics_per_s: round((deleted.size / wall) * 1000, 1),
    delete_call_topics_per_s: round((deleted.size / deleteTotal) * 1000, 1),
    list_ms: summarize(listMs),
    delete_call_ms: summarize(deleteMs),
    gone_from_metadata_ms: round(gone, 0),
    broker_at_gone: peak,
    resources_released_ms: released === null ? null : round(released, 0),
    broker_after: brokerProc(ctx.brokerPid),
    metadata_after: metadataSize(metadataDir(ctx.brokerPid)),
  };
}

/** Deletes whatever is left of this benchmark's topics (an error midway), in batches. */
async function cleanUp(ctx: Ctx, prefix: string): Promise<void> {
  const left = (await ctx.admin.listTopics()).filter((topic) => topic.startsWith(prefix));
  for (let i = 0; i < left.length; i += DELETE_BATCH) await ctx.topicAdmin.deleteTopics(left.slice(i, i + DELETE_BATCH));
  if (left.length) log(`topics: deleted ${left.length} topics left behind`);
}

export interface Capacity {
  /** Topics at which the resource reaches its limit, straight-line from the marks; null when unknown. */
  at_limit: number | null;
  /** Topics at which it reaches SOUND_LIMIT_SHARE of the limit. */
  at_sound_share: number | null;
  per_1000_topics: number | null;
}

function capacity(marks: MarkResult[], value: (b: BrokerProc) => number, limit: number | null): Capacity {
  const first = marks[0];
  const last = marks.at(-1);
  if (!first?.broker || !last?.broker || last.existing === first.existing) return { at_limit: null, at_sound_share: null, per_1000_topics: null };
  const slope = (value(last.broker) - value(first.broker)) / (last.existing - first.existing);
  const at = (share: number) => (limit === null || slope <= 0 ? null : Math.floor((limit * share - value(first.broker!)) / slope) + first.existing);
  return { at_limit: at(1), at_sound_share: at(SOUND_LIMIT_SHARE), per_1000_topics: round(slope * 1000, 1) };
}

/** Rounded down to two significant digits: a recommendation, not a measurement. */
function roundDown(n: number): number {
  if (n < 100) return Math.floor(n);
  const unit = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.floor(n / unit) * unit;
}

export interface Recommendation {
  /** Live run topics (run rate × (retention + run length)) up to which per-run mode is sound here. */
  live_topics: number;
  /** Whether the bound is the largest count measured (it may hold further) or a limit found. */
  bound_by: "measured range" | "creation latency" | "open files" | "memory maps";
  /** Runs per day at the default retention (24 h) that keep live topics at the bound. */
  runs_per_day_at_default_retention: number;
  runs_per_s_at_1h_retention: number;
  /** Topic churn the broker sustains: min(creation at CONCURRENCY at the last mark, janitor deletion), topics/s. */
  churn_topics_per_s: number | null;
  sentence: string;
}

function recommend(marks: MarkResult[], limits: BrokerLimits, deletion: Deletion | null, fds: Capacity, maps: Capacity): Recommendation {
  const base = marks[0];
  const p95Ratio = (m: MarkResult) =>
    Math.max(ratio(m.sequential_ms.p95, base?.sequential_ms.p95) ?? Infinity, ratio(m.concurrent_ms.p95, base?.concurrent_ms.p95) ?? Infinity);
  const sound = (m: MarkResult) => Math.max(m.ratio_p50_sequential ?? Infinity, m.ratio_p50_concurrent ?? Infinity) <= SOUND_P50_RATIO && p95Ratio(m) <= SOUND_P95_RATIO;
  let latencyBound = marks[0]?.existing ?? 0;
  for (const m of marks) {
    if (!sound(m)) break;
    latencyBound = m.existing;
  }
  const top = marks.at(-1)?.existing ?? 0;
  const candidates: Array<[Recommendation["bound_by"], number]> = [[latencyBound < top ? "creation latency" : "measured range", latencyBound]];
  if (fds.at_sound_share !== null) candidates.push(["open files", fds.at_sound_share]);
  if (maps.at_sound_share !== null) candidates.push(["memory maps", maps.at_sound_share]);
  const [boundBy, bound] = candidates.reduce((a, b) => (b[1] < a[1] ? b : a));
  const live = roundDown(Math.max(0, bound));
  const defaultDays = DEFAULTS.runTopicRetentionMs / 86_400_000;
  const last = marks.at(-1);
  const churn = last && deletion ? round(Math.min(last.concurrent_topics_per_s, deletion.topics_per_s), 1) : null;
  const runsPerDay = Math.floor(live / defaultDays);
  const perS1h = round(live / 3600, 2);
  const latencyText =
    latencyBound >= top
      ? `creation stayed within ×${SOUND_P50_RATIO} (p50) and ×${SOUND_P95_RATIO} (p95) of an empty broker up to the ${top} topics measured`
      : `beyond ${latencyBound} topics creation is slower than ×${SOUND_P50_RATIO} (p50) or ×${SOUND_P95_RATIO} (p95) of an empty broker`;
  const resourceText = `open files and memory maps reach ${SOUND_LIMIT_SHARE * 100}% of their limits (${limits.max_open_files ?? "?"} files, ${limits.max_map_count ?? "?"} maps) at about ${fds.at_sound_share ?? "?"} and ${maps.at_sound_share ?? "?"} topics, and the limits themselves at ${fds.at_limit ?? "?"} and ${maps.at_limit ?? "?"}`;
  const why = `bound by ${boundBy}: ${latencyText}; ${resourceText}`;
  return {
    live_topics: live,
    bound_by: boundBy,
    runs_per_day_at_default_retention: runsPerDay,
    runs_per_s_at_1h_retention: perS1h,
    churn_topics_per_s: churn,
    sentence:
      `Per-run topics are sound on a broker like this one up to ${live === 0 ? `fewer than ${marks[1]?.existing ?? "?"}` : `about ${live}`} live run topics (${why}). ` +
      `Live run topics ≈ run rate × (RUNBUS_RUN_TOPIC_RETENTION_MS + run length): at the default 24 h retention that is ~${runsPerDay} runs a day (${round(runsPerDay / 86_400, 3)} runs/s), at 1 h ~${perS1h} runs/s` +
      `${churn !== null ? `, and never more than the ${churn} topics/s of creation and deletion the broker sustains` : ""}. ` +
      `Beyond that, or with a retention that cannot be shortened, set RUNBUS_EVENT_TOPIC_MODE=shared.`,
  };
}

export async function topicsBenchmark(servers: BenchServers): Promise<BenchResult> {
  const marks = SCALE >= 1 ? [0, 1000, 5000, 10_000] : [0, 1000, 5000];
  const window = scaled(200, 20);
  const levels = [...new Set([10, 100, scaled(1000, 100)])];
  const reads = scaled(5, 3);
  const prefix = `bench-topics-${randomUUID().slice(0, 8)}.`;
  const kafka = benchKafka(servers.brokers, "runbus-bench-topics");
  const admin = kafka.admin();
  await admin.connect();
  const topics = new Topics(prefix);
  const ctx: Ctx = {
    kafka,
    admin,
    topicAdmin: new KafkaTopicAdmin(admin, topics, { partitions: 1, logger: silentLogger() }),
    topics,
    created: [],
    brokerPid: servers.pids().kafka,
  };
  if (ctx.brokerPid === undefined) log("topics: the broker is not local (RUNBUS_KAFKA_BROKERS): no process or metadata figures");
  const limits = brokerLimits(ctx.brokerPid);
  const results: MarkResult[] = [];
  const samples: Record<string, unknown> = {};
  let reader: Awaited<ReturnType<typeof sharedReaderCost>>;
  let deletion: Deletion | null = null;
  try {
    log(`topics: shared-topic reader, ${levels.join("/")} runs on the topic, ${reads} reads each`);
    reader = await sharedReaderCost(ctx, levels, reads);
    ctx.created.length = 0;
    samples.shared_reader = reader.samples;

    log(`topics: run topics up to ${marks.at(-1)}, windows of ${window} creations (one at a time, then ${CONCURRENCY} at once) at ${marks.join(", ")}`);
    let fillPerS: number | null = null;
    for (const mark of marks) {
      const missing = mark - ctx.created.length;
      if (missing > 0) {
        fillPerS = await fillRunTopics(ctx, missing);
        log(`topics: ${ctx.created.length} topics (filled at ${fillPerS} topics/s, ${FILL_BATCH} a request)`);
      }
      const { mark: result, raw } = await measureMark(ctx, window, results[0] ?? null, missing > 0 ? fillPerS : null);
      results.push(result);
      samples[`create_ms_at_${result.existing}`] = raw;
    }
    log(`topics: deleting ${ctx.created.length} topics as the janitor does (${DELETE_BATCH} a sweep)`);
    deletion = await deleteAsJanitor(ctx, results[0]?.broker?.fds ?? null);
    log(`topics: deleted ${deletion.topics} topics at ${deletion.topics_per_s} topics/s`);
  } finally {
    await cleanUp(ctx, prefix).catch((error: unknown) => log(`topics: cleanup failed: ${messageOf(error)}`));
    await admin.disconnect();
  }

  const fds = capacity(results, (b) => b.fds, limits.max_open_files);
  const maps = capacity(results, (b) => b.maps, limits.max_map_count);
  const rss = capacity(results, (b) => b.rss_mib, null);
  const recommendation = recommend(results, limits, deletion, fds, maps);
  const last = results.at(-1)!;
  const shared100 = reader.levels.find((l) => l.runs_on_topic === 100) ?? reader.levels.at(-1)!;
  // Each run retained on the shared topic adds this share of a run's own bytes to every read.
  const biggest = reader.levels.at(-1)!;
  const perRetainedRun = biggest.ratio_fetched_to_own === null ? null : round(biggest.ratio_fetched_to_own / biggest.runs_on_topic, 3);
  const summary = {
    marks: results,
    limits,
    capacity: { open_files: fds, memory_maps: maps, rss_mib: { per_1000_topics: rss.per_1000_topics } },
    deletion,
    shared_reader: { levels: reader.levels, per_run_topic: reader.perRun, fetched_share_per_retained_run: perRetainedRun },
    baseline_create_p50_ms: results[0]!.sequential_ms.p50,
    baseline_create_p99_ms: results[0]!.sequential_ms.p99,
    top_topics: last.existing,
    ratio_p50_create_top: last.ratio_p50_sequential,
    ratio_p99_create_top: last.ratio_p99_sequential,
    recommendation,
  };
  return {
    name: "topics",
    title: "Per-run topic scale: creation, broker resources, deletion; the shared topic's reader cost",
    config: {
      marks,
      window,
      concurrency: CONCURRENCY,
      fillBatch: FILL_BATCH,
      deleteBatch: DELETE_BATCH,
      topicNames: `${prefix}runbus.run.<uuid> (Topics.run), one partition, the broker's retention (the janitor deletes them after RUNBUS_RUN_TOPIC_RETENTION_MS, default ${DEFAULTS.runTopicRetentionMs} ms)`,
      creation: "KafkaTopicAdmin.ensureRunTopic: CreateTopics without kafkajs's leader wait, then metadata polled from 5 ms up until the partition has a leader",
      deletion: `as RunTopicJanitor.sweep: listRunTopics, then KafkaTopicAdmin.deleteTopics of up to ${DELETE_BATCH} topics, repeated`,
      sharedReader: {
        levels,
        reads,
        partitions: DEFAULTS.commandPartitions,
        events: "per run: metadata, values, 30 messages (AIMessageChunk + LangGraph metadata), updates, values, end; written by KafkaEventSink (CloudEvents + runbus headers), read by readRun",
        bytes: "fetched: sizes of the reader consumer's Fetch responses; own: key + value + headers of its own run's records",
      },
      sound: { p50Ratio: SOUND_P50_RATIO, p95Ratio: SOUND_P95_RATIO, limitShare: SOUND_LIMIT_SHARE },
    },
    summary,
    samples,
    targets: [
      {
        name: "per-run topic scale",
        target: `stated: creation at ${last.existing} topics vs 0; live run topics per-run mode is sound for`,
        measured: `p50 ×${last.ratio_p50_sequential}, p99 ×${last.ratio_p99_sequential}; sound up to ~${recommendation.live_topics} live topics (${recommendation.bound_by})`,
        pass: null,
      },
      {
        name: "shared-topic reader",
        target: "stated: bytes fetched per byte of the reader's own run",
        measured: `×${shared100.ratio_fetched_to_own} with ${shared100.runs_on_topic} runs on the topic (per-run topic ×${reader.perRun.ratio_fetched_to_own})`,
        pass: null,
      },
    ],
    notes: [recommendation.sentence],
  };
}

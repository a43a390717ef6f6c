/**
 * 6. Gateway: `runbus gateway` (the LangGraph Agent Server API on Kafka and MongoDB) against the
 * LangGraph API server (`@langchain/langgraph-api`, in-memory, as `langgraph dev` runs it), both
 * serving the two-node graph and driven by the same `@langchain/langgraph-sdk` client: time to the
 * first SSE event (`metadata`) and to the first `values`, and runs/s, at 1, 8 and 64 concurrent
 * threads. runbus in both event-topic modes, MongoDB stores, one worker, the gateway in a process
 * of its own. Where the time goes: a probe repeats the gateway's create-and-read steps with
 * timestamps (lib/reader-probe.ts), each process's CPU is counted over every load, and the same
 * worker is also fed directly over Kafka (no gateway) at the same concurrency.
 * BENCH_GATEWAY_PROFILE=1 also runs the gateway under `node --cpu-prof`
 * (bench/results/gateway-profiles/) and adds where its CPU went in each load.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Client } from "@langchain/langgraph-sdk";
import type { GatewayChildOptions } from "./gateway-child.js";
import { humanInput } from "./lib/baseline.js";
import { Child } from "./lib/child.js";
import { summarizeProfile, type ProfileSummary } from "./lib/cpuprofile.js";
import { benchRoot, log, repoRoot, resultsDir, scaled, scaledMs } from "./lib/env.js";
import { RunDriver, benchKafka } from "./lib/kafka.js";
import { PEER_JOBS, sdkRun, startPeer } from "./lib/langgraph-api.js";
import { closedLoop, type LoadResult } from "./lib/load.js";
import { cpuMeter, type CpuUse } from "./lib/proc-cpu.js";
import { startReaderProbe, type ReaderSteps } from "./lib/reader-probe.js";
import type { BenchResult, Target } from "./lib/results.js";
import { startWorker, type RunbusWorker } from "./lib/runbus.js";
import type { BenchServers } from "./lib/servers.js";
import { ratio, round, summarize, type Summary } from "./lib/stats.js";
import { CONCURRENCY } from "./throughput.js";

const MODES = ["shared", "per-run"] as const;
type Mode = (typeof MODES)[number];
type Side = "peer" | Mode;
const PROFILE = process.env.BENCH_GATEWAY_PROFILE === "1";

interface Settings {
  ttfeRuns: number;
  ttfeWarmup: number;
  warmupMs: number;
  windowMs: number;
  probeAfterRuns: number;
}

/** When a run's first events arrived and when it ended, ms from its start (NaN: not seen). */
interface Timing {
  metadata: number;
  firstValues: number;
  total: number;
}

interface Cell {
  load: LoadResult;
  /** `metadata` and first `values`: the sequential series at 1 thread, the window's runs above. */
  metadata: Summary;
  firstValues: Summary;
  timings: Timing[];
  /** CPU of each process over the load (warm-up and window), per run finished in it. */
  cpu: CpuUse & { runs: number; coreShare: Record<string, number>; msPerRun: Record<string, number | null> };
}

interface SideResult {
  series: Timing[];
  cells: Record<number, Cell>;
  /** The same worker fed over Kafka without the gateway (lib/kafka.ts RunDriver), same loads. */
  direct?: Record<number, Cell>;
  /** Probed runs interleaved with the sequential series. */
  probe?: ReaderSteps[];
  /** Probed runs after the loads, on the topics as the loads left them. */
  probeAfter?: ReaderSteps[];
  /** Where the gateway's CPU went in each load (BENCH_GATEWAY_PROFILE). */
  profiles?: Record<number, ProfileSummary>;
}

export async function gatewayBenchmark(servers: BenchServers): Promise<BenchResult> {
  const settings: Settings = {
    ttfeRuns: scaled(100, 5),
    ttfeWarmup: scaled(5, 2),
    warmupMs: scaledMs(3, 1),
    windowMs: scaledMs(8, 2),
    probeAfterRuns: scaled(10, 3),
  };
  const sides: Partial<Record<Side, SideResult>> = {};
  // The load generator (this process, with the reaper) and the servers, whichever side is measured.
  const common = () => ({ bench: process.pid, ...servers.pids() });

  log(`gateway: the LangGraph API server (in-memory, ${PEER_JOBS} jobs per worker)`);
  const peer = await startPeer();
  try {
    const series = await sequential("peer", () => sdkRun(peer.client), settings);
    const cells = await loads("peer", () => sdkRun(peer.client), series, settings, () => ({ server: peer.pid, ...common() }));
    sides.peer = { series, cells };
  } finally {
    await peer.stop();
  }

  for (const mode of MODES) {
    log(`gateway: runbus gateway, ${mode} topic, MongoDB stores`);
    const worker = await startWorker(servers, { mode });
    const profileDir = join(resultsDir, "gateway-profiles", mode);
    if (PROFILE) rmSync(profileDir, { recursive: true, force: true });
    const childOptions: GatewayChildOptions = { brokers: servers.brokers, mongodbUri: servers.mongodbUri, dbName: worker.dbName, topicPrefix: worker.prefix, mode };
    const gateway = Child.start(`gateway(${mode})`, resolve(benchRoot, "gateway-child.ts"), {
      args: [JSON.stringify(childOptions)],
      nodeArgs: PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
      logFile: resolve(resultsDir, "logs", `gateway-${mode}-${worker.prefix.slice(0, -1)}.log`),
    });
    const windows: Record<number, { fromUs: number; toUs: number }> = {};
    try {
      const { url } = await gateway.next<{ type: string; url: string }>("ready", 120_000);
      // As the SDK is used against the peer: default options.
      const client = new Client({ apiUrl: url });
      const onThread = (threadId: string) => worker.reaper?.add(threadId);
      const run = async () => {
        const t = await sdkRun(client);
        onThread(t.threadId);
        return t;
      };
      const pids = () => ({ gateway: gateway.pid, worker: worker.worker.pid, ...common() });
      const mark = async () => (await gateway.call<{ type: string; us: number }>({ type: "mark" }, "mark")).us;

      // Open only while it probes: its idle consumer would otherwise count as the load generator's CPU.
      let probe = await startReaderProbe({ brokers: servers.brokers, prefix: worker.prefix, mode, onThread });
      const probed: ReaderSteps[] = [];
      // Interleaved, so the probe sees the topics and stores as the SDK runs do.
      const series = await sequential(mode, run, settings, async () => void probed.push(await probe.once())).finally(() => probe.close());
      const cells = await loads(mode, run, series, settings, pids, PROFILE ? { mark, windows } : undefined);
      const direct = await directLoads(servers, worker, mode, settings, pids);

      log(`gateway: ${settings.probeAfterRuns} probed runs after the loads (${mode})`);
      probe = await startReaderProbe({ brokers: servers.brokers, prefix: worker.prefix, mode, onThread });
      const after: ReaderSteps[] = [];
      try {
        for (let i = 0; i < settings.probeAfterRuns; i++) after.push(await probe.once());
      } finally {
        await probe.close();
      }
      sides[mode] = { series, cells, direct, probe: probed, probeAfter: after };
    } finally {
      await gateway.stop();
      await worker.stop();
      if (mode === "per-run") await deleteRunTopics(servers.brokers, worker.prefix);
    }
    if (PROFILE) sides[mode]!.profiles = gatewayProfiles(profileDir, windows);
  }

  return result(sides as Record<Side, SideResult>, settings);
}

/** Runs one at a time, after a warm-up: time to first event at 1 thread. `between`: after every other. */
async function sequential(side: string, runOnce: () => Promise<Timing>, settings: Settings, between?: () => Promise<void>): Promise<Timing[]> {
  log(`gateway: ${side}, ${settings.ttfeRuns} runs one at a time${between ? ", a probed run after every other" : ""}`);
  const out: Timing[] = [];
  for (let i = 0; i < settings.ttfeWarmup + settings.ttfeRuns; i++) {
    const t = await runOnce();
    if (i < settings.ttfeWarmup) continue;
    out.push(t);
    if (between && i % 2 === 1) await between();
  }
  return out;
}

/**
 * The closed loops, one per concurrency, with each process's CPU counted over each. The last one
 * returns undrained (as the other benchmarks do); its runs are let end before this returns.
 */
async function loads(
  side: string,
  runOnce: () => Promise<Timing>,
  series: Timing[] | null,
  settings: Settings,
  pids: () => Record<string, number | undefined>,
  profile?: { mark: () => Promise<number>; windows: Record<number, { fromUs: number; toUs: number }> },
): Promise<Record<number, Cell>> {
  const cells: Record<number, Cell> = {};
  let inFlight = 0;
  for (const concurrency of CONCURRENCY) {
    log(`gateway: ${side}, ${concurrency} threads`);
    const last: Timing[] = [];
    const inWindow: Timing[] = [];
    let finished = 0;
    const fromUs = await profile?.mark();
    const meter = cpuMeter(pids());
    const load = await closedLoop({
      concurrency,
      warmupMs: settings.warmupMs,
      windowMs: settings.windowMs,
      drain: concurrency !== CONCURRENCY.at(-1),
      runOnce: async (slot) => {
        inFlight += 1;
        try {
          last[slot] = await runOnce();
          finished += 1;
        } finally {
          inFlight -= 1;
        }
      },
      measured: (slot) => inWindow.push(last[slot]!),
    });
    const cpu = meter.stop();
    const toUs = await profile?.mark();
    if (profile && fromUs !== undefined && toUs !== undefined) profile.windows[concurrency] = { fromUs, toUs };
    const timings = concurrency === 1 && series ? series : inWindow;
    cells[concurrency] = {
      load,
      metadata: summarize(timings.map((t) => t.metadata)),
      firstValues: summarize(timings.map((t) => t.firstValues)),
      timings,
      cpu: {
        ...cpu,
        runs: finished,
        coreShare: Object.fromEntries(Object.entries(cpu.ms).map(([name, ms]) => [name, round(ms / cpu.wallMs)])),
        msPerRun: Object.fromEntries(Object.entries(cpu.ms).map(([name, ms]) => [name, finished ? round(ms / finished, 1) : null])),
      },
    };
  }
  const deadline = performance.now() + 60_000;
  while (inFlight > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return cells;
}

/**
 * The same worker fed directly over Kafka (one long-lived consumer of the shared topics, as the
 * throughput benchmark feeds it): what the worker does without the gateway, at the same loads.
 */
async function directLoads(servers: BenchServers, worker: RunbusWorker, mode: Mode, settings: Settings, pids: () => Record<string, number | undefined>): Promise<Record<number, Cell>> {
  const driver = new RunDriver(servers.brokers, worker.prefix, mode);
  await driver.start();
  try {
    return await loads(`${mode}, worker fed directly (no gateway)`, async () => {
      const threadId = randomUUID();
      try {
        const t = await driver.run({ run_id: randomUUID(), thread_id: threadId, graph_id: "two_node", input: humanInput(), stream_mode: ["values"] });
        if (t.status && t.status !== "success") throw new Error(`run ended ${t.status}`);
        return { metadata: t.metadata ?? Number.NaN, firstValues: t.firstValues ?? Number.NaN, total: t.released ?? Number.NaN };
      } finally {
        worker.reaper?.add(threadId);
      }
    }, null, settings, pids);
  } finally {
    await driver.stop();
  }
}

/** The gateway's main-thread profile (tid 0; tsx's loader thread writes its own), cut to each load. */
function gatewayProfiles(dir: string, windows: Record<number, { fromUs: number; toUs: number }>): Record<number, ProfileSummary> {
  const main = existsSync(dir) ? readdirSync(dir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f)) : undefined;
  if (!main) return {};
  return Object.fromEntries(Object.entries(windows).map(([c, window]) => [c, { ...summarizeProfile(join(dir, main), window, 25), file: relative(repoRoot, join(dir, main)) }]));
}

/** The per-run topics a benchmark's worker created: gone, so later benchmarks list a cluster of the usual size. */
async function deleteRunTopics(brokers: string[], prefix: string): Promise<void> {
  const admin = benchKafka(brokers, "runbus-bench-cleanup").admin();
  await admin.connect();
  try {
    const runTopics = (await admin.listTopics()).filter((topic) => topic.startsWith(`${prefix}runbus.run.`));
    for (let i = 0; i < runTopics.length; i += 100) await admin.deleteTopics({ topics: runTopics.slice(i, i + 100), timeout: 30_000 }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

const STEPS = [
  "createReply",
  "topicWait",
  "readerConnect",
  "readerSubscribe",
  "readerJoin",
  "firstEvent",
  "toMetadata",
  "metadataEmitted",
  "teardown",
  "scannedBeforeMetadata",
  "topicsListed",
  "readerRequests",
  "adminRequests",
  "fetchedBytes",
] as const;
type StepsP50 = Record<(typeof STEPS)[number], number>;

function stepsP50(samples: ReaderSteps[] | undefined): StepsP50 | null {
  if (!samples?.length) return null;
  return Object.fromEntries(STEPS.map((step) => [step, summarize(samples.map((s) => s[step])).p50])) as StepsP50;
}

/** Mean Kafka requests per probed stream, by API. */
function requestsPerStream(samples: ReaderSteps[] | undefined): Record<string, number> | null {
  if (!samples?.length) return null;
  const sums: Record<string, number> = {};
  for (const s of samples) for (const [api, k] of Object.entries(s.requests)) sums[api] = (sums[api] ?? 0) + k;
  return Object.fromEntries(Object.entries(sums).sort(([, a], [, b]) => b - a).map(([api, k]) => [api, round(k / samples.length, 1)]));
}

/** What a request pays for its reader before the first fetch: the topic wait and a consumer group of its own. */
function readerFloor(s: StepsP50 | null): number | null {
  return s ? round(s.topicWait + s.readerConnect + s.readerSubscribe + s.readerJoin) : null;
}

function result(sides: Record<Side, SideResult>, settings: Settings): BenchResult {
  const cell = (side: Side, c: number) => sides[side].cells[c]!;
  const direct = (mode: Mode, c: number) => sides[mode].direct?.[c];
  const pick = (s: Summary) => ({ p50: s.p50, p95: s.p95, n: s.n });
  const table = CONCURRENCY.map((c) => ({
    concurrency: c,
    peer_runs_per_s: cell("peer", c).load.runsPerSecond,
    shared_runs_per_s: cell("shared", c).load.runsPerSecond,
    per_run_runs_per_s: cell("per-run", c).load.runsPerSecond,
    shared_vs_peer: ratio(cell("shared", c).load.runsPerSecond, cell("peer", c).load.runsPerSecond),
    per_run_vs_peer: ratio(cell("per-run", c).load.runsPerSecond, cell("peer", c).load.runsPerSecond),
    metadata_ms: { peer: pick(cell("peer", c).metadata), shared: pick(cell("shared", c).metadata), per_run: pick(cell("per-run", c).metadata) },
    first_values_ms: { peer: pick(cell("peer", c).firstValues), shared: pick(cell("shared", c).firstValues), per_run: pick(cell("per-run", c).firstValues) },
    run_p50_ms: { peer: cell("peer", c).load.runMs.p50, shared: cell("shared", c).load.runMs.p50, per_run: cell("per-run", c).load.runMs.p50 },
    /** The same worker without the gateway: the worker's own ceiling at this load. */
    direct_runs_per_s: { shared: direct("shared", c)?.load.runsPerSecond ?? null, per_run: direct("per-run", c)?.load.runsPerSecond ?? null },
    cpu_ms_per_run: {
      peer: cell("peer", c).cpu.msPerRun,
      shared: cell("shared", c).cpu.msPerRun,
      per_run: cell("per-run", c).cpu.msPerRun,
      shared_direct: direct("shared", c)?.cpu.msPerRun ?? null,
      per_run_direct: direct("per-run", c)?.cpu.msPerRun ?? null,
    },
    cpu_core_share: { peer: cell("peer", c).cpu.coreShare, shared: cell("shared", c).cpu.coreShare, per_run: cell("per-run", c).cpu.coreShare },
    failed: {
      peer: cell("peer", c).load.failed,
      shared: cell("shared", c).load.failed,
      per_run: cell("per-run", c).load.failed,
      shared_direct: direct("shared", c)?.load.failed ?? null,
      per_run_direct: direct("per-run", c)?.load.failed ?? null,
    },
  }));
  const shared = stepsP50(sides.shared.probe);
  const perRun = stepsP50(sides["per-run"].probe);
  const sdkMeta = (side: Side) => cell(side, 1).metadata.p50;
  const breakdown = {
    /** p50 of each step of the probed runs (one after every other run of the 1-thread series). */
    shared,
    per_run: perRun,
    /** The same after the loads: the topics as the loads left them. */
    shared_after_loads: stepsP50(sides.shared.probeAfter),
    per_run_after_loads: stepsP50(sides["per-run"].probeAfter),
    /** The SDK's time to `metadata` at 1 thread minus the probe's: HTTP, the gateway's request handling and SSE. */
    http_and_sse_p50_ms: { shared: shared ? round(sdkMeta("shared") - shared.toMetadata) : null, per_run: perRun ? round(sdkMeta("per-run") - perRun.toMetadata) : null },
    /** Kafka requests one stream's reader makes (consumer and admin), mean per probed stream. */
    requests_per_stream: { shared: requestsPerStream(sides.shared.probe), per_run: requestsPerStream(sides["per-run"].probe) },
    /** What per-run topics add to the worker's reply: the topic's creation during admission. */
    per_run_topic_creation_in_reply_p50_ms: shared && perRun ? round(perRun.createReply - shared.createReply) : null,
    /** Paid by every request after the reply and before its first fetch (topic wait, connect, subscribe, join). */
    reader_floor_p50_ms: { shared: readerFloor(shared), per_run: readerFloor(perRun) },
    /** From `run.create` to the worker's reply, beyond its `metadata`: admission after the stream opened (claim, start). */
    reply_after_metadata_p50_ms: { shared: shared ? round(shared.createReply - shared.metadataEmitted) : null, per_run: perRun ? round(perRun.createReply - perRun.metadataEmitted) : null },
  };
  const ttfe1 = { peer: cell("peer", 1).metadata, shared: cell("shared", 1).metadata, per_run: cell("per-run", 1).metadata };
  const ttfeRatio = ratio(ttfe1.shared.p50, ttfe1.peer.p50);
  const targets: Target[] = [
    {
      name: "gateway, shared topic: time to first event p50, 1 thread",
      target: "≤ the LangGraph API server's p50",
      measured: `${ttfe1.shared.p50} vs ${ttfe1.peer.p50} ms (×${ttfeRatio})`,
      pass: ttfeRatio === null ? null : ttfe1.shared.p50 <= ttfe1.peer.p50,
    },
    {
      name: "gateway, per-run topics: time to first event p50, 1 thread",
      target: "stated figure (no target)",
      measured: `${ttfe1.per_run.p50} vs ${ttfe1.peer.p50} ms (×${ratio(ttfe1.per_run.p50, ttfe1.peer.p50)})`,
      pass: null,
    },
  ];
  for (const row of table) {
    for (const [mode, rate, r] of [
      ["shared topic", row.shared_runs_per_s, row.shared_vs_peer],
      ["per-run topics", row.per_run_runs_per_s, row.per_run_vs_peer],
    ] as const) {
      targets.push({
        name: `gateway, ${mode}: runs/s, ${row.concurrency} thread${row.concurrency === 1 ? "" : "s"}`,
        target: row.concurrency === 1 ? "stated figure (no target)" : "≥ the LangGraph API server's runs/s",
        measured: `${rate} vs ${row.peer_runs_per_s} runs/s (×${r})`,
        pass: row.concurrency === 1 || r === null ? null : r >= 1,
      });
    }
  }
  const cellSamples = (cells: Record<number, Cell> | undefined) =>
    Object.fromEntries(Object.entries(cells ?? {}).map(([c, v]) => [c, { load: v.load, cpu: v.cpu, timings: v.timings.map((t) => [round(t.metadata), round(t.firstValues), round(t.total)]) }]));
  const profiles = sides.shared.profiles || sides["per-run"].profiles ? { gateway_cpu_profiles: { shared: sides.shared.profiles ?? null, per_run: sides["per-run"].profiles ?? null } } : {};
  return {
    name: "gateway",
    title: "Gateway: runbus gateway vs the LangGraph API server, same SDK client",
    config: {
      ...settings,
      concurrency: CONCURRENCY,
      client: "@langchain/langgraph-sdk runs.stream(fresh thread id, two_node, streamMode values, ifNotExists create)",
      peer: { package: "@langchain/langgraph-api", storage: "in-memory (as langgraph dev)", jobsPerWorker: PEER_JOBS },
      runbus: "runbus gateway in a child process, one worker child, MongoDB stores; RUNBUS_EVENT_TOPIC_MODE shared and per-run",
      ttfe: "1 thread: the sequential series (ttfeRuns after ttfeWarmup); 8 and 64 threads: the runs that finished inside the closed loop's window",
      probe: "lib/reader-probe.ts: the gateway's run.create and reader steps repeated with timestamps, one probed run after every other run of the 1-thread series, and probeAfterRuns after the loads",
      direct: "the same worker fed by lib/kafka.ts RunDriver (no gateway), same loads, after the gateway's",
    },
    summary: { table, ttfe_1_thread_ms: ttfe1, ratio_ttfe_p50_shared_vs_peer: ttfeRatio, breakdown, ...profiles },
    samples: {
      peer: cellSamples(sides.peer.cells),
      shared: cellSamples(sides.shared.cells),
      perRun: cellSamples(sides["per-run"].cells),
      sharedDirect: cellSamples(sides.shared.direct),
      perRunDirect: cellSamples(sides["per-run"].direct),
      probeShared: sides.shared.probe?.map(roundSteps) ?? [],
      probePerRun: sides["per-run"].probe?.map(roundSteps) ?? [],
      probeSharedAfterLoads: sides.shared.probeAfter?.map(roundSteps) ?? [],
      probePerRunAfterLoads: sides["per-run"].probeAfter?.map(roundSteps) ?? [],
    },
    targets,
    notes: [],
  };
}

function roundSteps(steps: ReaderSteps): Record<string, unknown> {
  return Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, typeof v === "number" ? round(v) : v]));
}

/**
 * 9. MongoDB commands per run (issue 13): every command one worker sends to MongoDB while it runs
 * two-node runs, from the driver's command monitoring on each client the worker opens (the
 * stores' client, which MongoDBSaver shares, and the lease client). Each command is attributed
 * to its owner (MongoDBSaver's collections vs runbus's own), its collection and command name,
 * the run it serves (the run or thread id in its filter or documents), and the step of that run
 * it belongs to, cut at the run's own commands: admission until the thread's claim, start until
 * the first checkpointer command, the graph until its last checkpoint write (or the update that
 * stores the run's outcome, `ended_at`, if that comes first), finish after it; lease renewals
 * wherever they fall. Passes: runs one at a time,
 * then 8 in flight; then a few runs with a stack trace taken at each command, for where each of
 * runbus's commands comes from. Baseline: the issue's target, ≤ 5 of runbus's own commands per run.
 *
 * The worker runs in a process of its own (this file, forked with WORKER_FLAG), as
 * bench/lib/runbus.ts starts one, so its CPU (process.cpuUsage over a pass) is the worker's alone.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { MongoClient, type CommandFailedEvent, type CommandStartedEvent, type CommandSucceededEvent, type Document } from "mongodb";
import { humanInput } from "./lib/baseline.js";
import { Child, serveParent } from "./lib/child.js";
import { benchRoot, log, repoRoot, resultsDir, scaled } from "./lib/env.js";
import { RunDriver, type RunCreate } from "./lib/kafka.js";
import { Reaper } from "./lib/reaper.js";
import type { BenchResult } from "./lib/results.js";
import { OWN_COMMANDS_TARGET } from "./report/headlines.js";
import { benchId } from "./lib/runbus.js";
import type { BenchServers } from "./lib/servers.js";
import { round } from "./lib/stats.js";

const CONCURRENCY = 8;
const REAP_EVERY = 10;
const WORKER_FLAG = "--mongo-commands-worker";

type ClientName = "main" | "lease";

/** One command as the worker's driver sent it, reduced to what attribution needs. */
export interface CommandRecord {
  /** Order of commandStarted within the pass. */
  seq: number;
  client: ClientName;
  name: string;
  collection: string;
  /** Run and thread ids in its filter(s) or documents' top-level `_id`, `run_id`, `thread_id`. */
  ids: string[];
  /** The command's shape: filter keys, `$set` keys or pipeline, documents (see shapeOf). */
  shape: string;
  /** Statements in it (documents inserted, updates, deletes); 1 for the rest. */
  statements: number;
  /** A checkpoint upsert: the graph step in its metadata, and its checkpoint id. */
  step?: number;
  checkpointId?: string;
  /** Pending writes: the checkpoint they belong to. */
  writesOf?: string;
  ms: number;
  /** Unset: no answer yet when the pass ended. */
  ok?: boolean;
  /** Call sites in src/ (stack pass only), innermost first. */
  site?: string;
}

interface WorkerSpec {
  brokers: string[];
  mongodbUri: string;
  dbName: string;
  topicPrefix: string;
}

interface PassReply {
  type: "pass";
  records: CommandRecord[];
  cpuMs: number;
  wallMs: number;
}

interface ReadyReply {
  type: "ready";
  checkpointCollections: string[];
  /** MongoDBSaver runs on the stores' main client (not a client of its own). */
  saverSharesMainClient: boolean;
}

// ---------------------------------------------------------------------------------------------
// The worker's side: a runbus worker whose every MongoDB command is recorded.

const ID_KEYS = new Set(["_id", "run_id", "thread_id"]);

/** String ids under `_id`/`run_id`/`thread_id` in a filter, through `$and`/`$or`/`$in`. */
function collectIds(filter: unknown, into: Set<string>, depth = 0): void {
  if (depth > 8 || filter === null || typeof filter !== "object") return;
  if (Array.isArray(filter)) {
    for (const item of filter) collectIds(item, into, depth + 1);
    return;
  }
  for (const [key, value] of Object.entries(filter as Record<string, unknown>)) {
    if (ID_KEYS.has(key)) {
      if (typeof value === "string") into.add(value);
      const list = (value as { $in?: unknown } | null)?.$in;
      if (Array.isArray(list)) for (const item of list) if (typeof item === "string") into.add(item);
    } else if (key.startsWith("$")) collectIds(value, into, depth + 1);
  }
}

const keysOf = (value: unknown) => (value && typeof value === "object" ? Object.keys(value).sort().join(",") : "");

/** What a statement does, in words that survive a refactoring: the keys it filters on and sets. */
function updateShape(statement: Document): string {
  const u = statement.u as unknown;
  const change = Array.isArray(u)
    ? `pipeline $set ${u.map((stage) => keysOf((stage as Document).$set)).join("+")}`
    : Object.entries((u ?? {}) as Document)
        .map(([op, fields]) => `${op} ${op === "$set" && (fields as Document).active_run_id === null ? "active_run_id:null," : ""}${keysOf(fields)}`)
        .join(" ");
  const q = statement.q as Document;
  const claim = q && q.active_run_id === null ? " (active_run_id:null)" : "";
  return `{${keysOf(q)}}${claim} ${change}${statement.multi ? " multi" : ""}${statement.upsert ? " upsert" : ""}`;
}

function shapeOf(name: string, command: Document): string {
  switch (name) {
    case "insert":
      return "documents";
    case "update":
      return (command.updates as Document[]).map(updateShape).filter((s, i, all) => all.indexOf(s) === i).join(" | ");
    case "delete":
      return (command.deletes as Document[]).map((d) => `{${keysOf(d.q)}}`).join(" | ");
    case "find":
      return `{${keysOf(command.filter)}}${command.limit ? ` limit ${command.limit}` : ""}`;
    case "findAndModify":
      return updateShape({ q: command.query as Document, u: command.update as Document });
    case "count":
      return `{${keysOf(command.query)}}`;
    default:
      return "";
  }
}

function idsOf(name: string, command: Document): string[] {
  const ids = new Set<string>();
  if (name === "insert") {
    for (const document of command.documents as Document[]) for (const key of ID_KEYS) if (typeof document[key] === "string") ids.add(document[key] as string);
  } else if (name === "update") for (const statement of command.updates as Document[]) collectIds(statement.q, ids);
  else if (name === "delete") for (const statement of command.deletes as Document[]) collectIds(statement.q, ids);
  else collectIds(command.filter ?? command.query ?? (command.pipeline as Document[] | undefined)?.[0]?.$match, ids);
  return [...ids];
}

/** The frames of runbus's own code (src/) in the stack of a command being sent, innermost first. */
function siteOf(stack: string | undefined): string | undefined {
  const frames: string[] = [];
  for (const line of stack?.split("\n") ?? []) {
    const match = /at (?:async )?(\S+) \((?:file:\/\/)?([^)]+?):(\d+):\d+\)/.exec(line);
    if (!match || match[2]!.includes("node_modules")) continue;
    const path = match[2]!.startsWith(repoRoot) ? match[2]!.slice(repoRoot.length + 1) : match[2]!;
    if (!path.startsWith("src/")) continue;
    const fn = match[1] === "<anonymous>" ? (enclosingFunction(path, Number(match[3])) ?? match[1]) : match[1]!;
    frames.push(`${path}:${match[3]} ${fn}`);
    if (frames.length === 3) break;
  }
  return frames.length ? frames.join(" ← ") : undefined;
}

const sources = new Map<string, string[]>();
const NOT_A_FUNCTION = new Set(["if", "for", "while", "switch", "catch", "return", "await", "new"]);

/**
 * The method or function around line `line` of a src/ file, as `Class.method`: what a stack trace
 * calls `<anonymous>` is a callback (an admission's or a serializer's) inside it.
 */
function enclosingFunction(path: string, line: number): string | null {
  if (!sources.has(path)) sources.set(path, readFileSync(resolve(repoRoot, path), "utf8").split("\n"));
  const lines = sources.get(path)!;
  const indent = (text: string) => /^\s*/.exec(text)![0].length;
  let depth = indent(lines[line - 1] ?? "");
  let fn: string | null = null;
  for (let i = line - 2; i >= 0; i--) {
    const text = lines[i]!;
    if (!text.trim() || indent(text) >= depth) continue;
    depth = indent(text);
    if (!fn) {
      const m = /^\s*(?:export\s+)?(?:(?:private|protected|public|static|async|override|get|set)\s+)*(?:function\s*\*?\s*)?([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\(/.exec(text);
      if (m && !NOT_A_FUNCTION.has(m[1]!)) fn = m[1]!;
    } else {
      const c = /^\s*(?:export\s+)?(?:abstract\s+)?class\s+([A-Za-z_$][\w$]*)/.exec(text);
      if (c) return `${c[1]}.${fn}`;
    }
    if (depth === 0) break;
  }
  return fn;
}

/** Records every command of `client` into `sink()` (a pass's list, or nowhere between passes). */
function monitor(client: MongoClient, name: ClientName, sink: () => { records: CommandRecord[]; stacks: boolean } | null): void {
  const pending = new Map<number, CommandRecord>();
  client.on("commandStarted", (event: CommandStartedEvent) => {
    const pass = sink();
    if (!pass) return;
    const command = event.command;
    const target = command[event.commandName] as unknown;
    const collection = typeof target === "string" ? target : typeof command.collection === "string" ? (command.collection as string) : "";
    const record: CommandRecord = {
      seq: pass.records.length,
      client: name,
      name: event.commandName,
      collection,
      ids: idsOf(event.commandName, command),
      shape: shapeOf(event.commandName, command),
      statements: Array.isArray(command.documents) ? command.documents.length : Array.isArray(command.updates) ? command.updates.length : Array.isArray(command.deletes) ? command.deletes.length : 1,
      ms: 0,
    };
    if (event.commandName === "update") {
      const first = (command.updates as Document[])[0];
      const meta = (first?.u as Document | undefined)?.$set?.metadata_search as Document | undefined;
      if (typeof meta?.step === "number") {
        record.step = meta.step;
        record.checkpointId = (first?.q as Document).checkpoint_id as string;
      } else if (typeof (first?.q as Document | undefined)?.checkpoint_id === "string" && (first?.q as Document).task_id !== undefined) {
        record.writesOf = (first?.q as Document).checkpoint_id as string;
      }
    }
    if (pass.stacks) {
      const site = siteOf(new Error().stack);
      if (site) record.site = site;
    }
    pass.records.push(record);
    pending.set(event.requestId, record);
  });
  const settle = (event: CommandSucceededEvent | CommandFailedEvent, ok: boolean) => {
    const record = pending.get(event.requestId);
    if (!record) return;
    pending.delete(event.requestId);
    record.ms = event.duration;
    record.ok = ok;
  };
  client.on("commandSucceeded", (event) => settle(event, true));
  client.on("commandFailed", (event) => settle(event, false));
}

async function serveWorker(spec: WorkerSpec): Promise<void> {
  const [{ openMongoStores }, { loadConfig }, { createLogger }, { Worker }, { workerGraphs }] = await Promise.all([
    import("../src/adapters/mongo/stores.js"),
    import("../src/config.js"),
    import("../src/logger.js"),
    import("../src/worker.js"),
    import("./graphs.js"),
  ]);
  const logger = createLogger({ level: process.env.BENCH_WORKER_LOG_LEVEL ?? "warn", name: "bench-worker" });
  const stores = await openMongoStores({ uri: spec.mongodbUri, dbName: spec.dbName, logger, clientOptions: { monitorCommands: true } });
  let pass: { records: CommandRecord[]; stacks: boolean; cpu: NodeJS.CpuUsage; t0: number } | null = null;
  monitor(stores.client, "main", () => pass);
  monitor(stores.leaseClient, "lease", () => pass);
  const config = loadConfig({}, { kafka: { brokers: spec.brokers }, topicPrefix: spec.topicPrefix, eventTopicMode: "shared", shutdownGraceMs: 10_000, logLevel: "warn" });
  const worker = await Worker.create(config, { graphs: workerGraphs(10), logger, stores });
  await worker.start();
  const idle = async () => {
    // A run's last write (its lease cleared) lands after the release the driver waits for.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const { active, queued, delayed } = worker.runtime.supervisor.hostedCounts();
      if (active + queued + delayed === 0) return;
      await new Promise((done) => setTimeout(done, 10));
    }
  };
  serveParent(async (message) => {
    if (message.type === "pass-start") {
      Error.stackTraceLimit = message.stacks ? 80 : 10;
      pass = { records: [], stacks: Boolean(message.stacks), cpu: process.cpuUsage(), t0: performance.now() };
      process.send?.({ type: "pass-started" });
    } else if (message.type === "pass-end") {
      await idle();
      const ended = pass;
      pass = null;
      if (!ended) throw new Error("pass-end without a pass-start.");
      const cpu = process.cpuUsage(ended.cpu);
      const reply: PassReply = { type: "pass", records: ended.records, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - ended.t0 };
      process.send?.(reply);
    } else if (message.type === "stop") {
      await worker.stop(5000);
      process.exit(0);
    }
  });
  const saverClient = (stores.checkpointer as unknown as { client?: MongoClient }).client;
  const ready: ReadyReply = {
    type: "ready",
    checkpointCollections: [stores.checkpointer.checkpointCollectionName, stores.checkpointer.checkpointWritesCollectionName],
    saverSharesMainClient: saverClient === stores.client,
  };
  process.send?.(ready);
}

// ---------------------------------------------------------------------------------------------
// Attribution: owner, collection group, run, step.

type Owner = "checkpointer" | "runbus";

interface Attributed extends CommandRecord {
  owner: Owner;
  /** runs, runs (lease client), threads, run_events, …, or the checkpointer's collections. */
  group: string;
  /** The run it serves; null: several runs' (a batch) or none (a sweep). */
  run: string | null;
  scope: "run" | "batched" | "background";
  phase: string;
}

function attribute(records: CommandRecord[], checkpointCollections: string[], threadToRun: Map<string, string>, runIds: Set<string>): Attributed[] {
  const out: Attributed[] = records.map((r) => {
    const runs = new Set(r.ids.flatMap((id) => (runIds.has(id) ? [id] : threadToRun.has(id) ? [threadToRun.get(id)!] : [])));
    const owner: Owner = checkpointCollections.includes(r.collection) ? "checkpointer" : "runbus";
    const group = owner === "runbus" && r.client === "lease" ? `${r.collection} (lease client)` : r.collection || "(none)";
    const scope = runs.size === 1 ? "run" : runs.size > 1 ? "batched" : "background";
    return { ...r, owner, group, run: runs.size === 1 ? [...runs][0]! : null, scope, phase: "" };
  });
  // Steps of each run, cut at its own commands (see the file's comment).
  const byRun = new Map<string, Attributed[]>();
  for (const r of out) if (r.run) byRun.set(r.run, [...(byRun.get(r.run) ?? []), r]);
  for (const list of byRun.values()) {
    list.sort((a, b) => a.seq - b.seq);
    const isClaim = (r: Attributed) => r.owner === "runbus" && r.collection === "threads" && r.name === "update" && r.shape.includes("(active_run_id:null)");
    const isOutcome = (r: Attributed) => r.owner === "runbus" && r.collection === "runs" && r.name !== "insert" && /\bended_at\b/.test(r.shape);
    const firstGraph = list.findIndex((r) => r.owner === "checkpointer");
    const lastWrite = list.findLastIndex((r) => r.owner === "checkpointer" && r.name !== "find" && r.name !== "getMore");
    const claim = list.findIndex(isClaim);
    const outcome = list.findIndex(isOutcome);
    const graphStart = firstGraph < 0 ? list.length : firstGraph;
    const startAt = claim < 0 ? graphStart : claim;
    // The graph is done once it has written its last checkpoint, or once the run's outcome is stored.
    const finishAt = Math.min(outcome < 0 ? list.length : outcome, lastWrite < 0 ? list.length : lastWrite + 1);
    const stepOf = new Map(list.flatMap((r) => (r.checkpointId !== undefined && r.step !== undefined ? [[r.checkpointId, r.step] as const] : [])));
    let graphLabel = "graph: reads before the first checkpoint";
    list.forEach((r, i) => {
      if (r.client === "lease" || /pipeline \$set lease_until/.test(r.shape)) r.phase = "lease renewals";
      else if (i < startAt) r.phase = "admission";
      else if (i < graphStart) r.phase = "start (claim)";
      else if (i < finishAt) {
        if (r.step !== undefined) graphLabel = r.step < 0 ? "graph: input checkpoint (step -1)" : `graph: step ${r.step}`;
        else if (r.writesOf !== undefined && stepOf.has(r.writesOf)) graphLabel = `graph: step ${stepOf.get(r.writesOf)! + 1}`;
        r.phase = graphLabel;
      } else r.phase = "finish";
    });
  }
  for (const r of out) if (!r.run) r.phase = r.scope === "batched" ? "batched (several runs)" : "background (no run)";
  return out;
}

/** One pass of the benchmark as bench/results/mongo-commands.json holds it (read by the report). */
export interface PassFigures {
  runs: number;
  completed: number;
  wall_ms: number;
  worker_cpu_ms: number;
  worker_cpu_ms_per_run: number;
  commands_per_run: { total: number; checkpointer: number; runbus: number; runbus_in_runs: number; runbus_batched: number; runbus_background: number };
  by_collection: Array<{ owner: Owner; collection: string; command: string; per_run: number; statements_per_run: number; mean_ms: number }>;
  by_step: Array<{ step: string; runbus_per_run: number; checkpointer_per_run: number; commands: string }>;
  by_operation: Array<{ owner: Owner; collection: string; command: string; shape: string; step: string; per_run: number; sites: string[] }>;
  failed_commands: number;
  unanswered_commands: number;
}

const PHASE_ORDER = ["admission", "start (claim)", "graph", "finish", "lease renewals", "batched", "background"];
const phaseRank = (phase: string) => {
  const i = PHASE_ORDER.findIndex((p) => phase.startsWith(p));
  return i < 0 ? PHASE_ORDER.length : i;
};
const stepRank = (phase: string) => Number(/step (-?\d+)/.exec(phase)?.[1] ?? (phase.includes("before") ? -2 : 99));

function figures(records: Attributed[], runs: number, completed: number, cpuMs: number, wallMs: number): PassFigures {
  const per = (n: number) => round(n / Math.max(1, completed), 2);
  const count = (pred: (r: Attributed) => boolean) => per(records.filter(pred).length);
  const group = <K extends string>(key: (r: Attributed) => K) => {
    const map = new Map<K, Attributed[]>();
    for (const r of records) map.set(key(r), [...(map.get(key(r)) ?? []), r]);
    return map;
  };
  const byCollection = [...group((r) => `${r.owner}\u0000${r.group}\u0000${r.name}`)].map(([key, list]) => {
    const [owner, collection, command] = key.split("\u0000") as [Owner, string, string];
    return {
      owner,
      collection,
      command,
      per_run: per(list.length),
      statements_per_run: per(list.reduce((s, r) => s + r.statements, 0)),
      mean_ms: round(list.reduce((s, r) => s + r.ms, 0) / list.length),
    };
  });
  byCollection.sort((a, b) => a.owner.localeCompare(b.owner) || b.per_run - a.per_run);
  const byStep = [...group((r) => r.phase)].map(([phase, list]) => {
    const names = new Map<string, number>();
    for (const r of list) names.set(`${r.name} ${r.group}`, (names.get(`${r.name} ${r.group}`) ?? 0) + 1);
    return {
      step: phase,
      runbus_per_run: per(list.filter((r) => r.owner === "runbus").length),
      checkpointer_per_run: per(list.filter((r) => r.owner === "checkpointer").length),
      commands: [...names].map(([name, n]) => `${name} ×${per(n)}`).join(", "),
    };
  });
  byStep.sort((a, b) => phaseRank(a.step) - phaseRank(b.step) || stepRank(a.step) - stepRank(b.step));
  const byOperation = [...group((r) => `${r.owner}\u0000${r.group}\u0000${r.name}\u0000${r.shape}\u0000${r.phase.startsWith("graph") ? "graph" : r.phase}`)].map(([key, list]) => {
    const [owner, collection, command, shape, step] = key.split("\u0000") as [Owner, string, string, string, string];
    const sites = new Map<string, number>();
    for (const r of list) if (r.site) sites.set(r.site, (sites.get(r.site) ?? 0) + 1);
    return { owner, collection, command, shape, step, per_run: per(list.length), sites: [...sites].sort((a, b) => b[1] - a[1]).map(([site]) => site) };
  });
  byOperation.sort((a, b) => a.owner.localeCompare(b.owner) === 0 ? phaseRank(a.step) - phaseRank(b.step) || b.per_run - a.per_run : b.owner.localeCompare(a.owner));
  return {
    runs,
    completed,
    wall_ms: round(wallMs, 0),
    worker_cpu_ms: round(cpuMs, 0),
    worker_cpu_ms_per_run: round(cpuMs / Math.max(1, completed), 2),
    commands_per_run: {
      total: count(() => true),
      checkpointer: count((r) => r.owner === "checkpointer"),
      runbus: count((r) => r.owner === "runbus"),
      runbus_in_runs: count((r) => r.owner === "runbus" && r.scope === "run"),
      runbus_batched: count((r) => r.owner === "runbus" && r.scope === "batched"),
      runbus_background: count((r) => r.owner === "runbus" && r.scope === "background"),
    },
    by_collection: byCollection,
    by_step: byStep,
    by_operation: byOperation,
    failed_commands: records.filter((r) => r.ok === false).length,
    unanswered_commands: records.filter((r) => r.ok === undefined).length,
  };
}

interface CallSite {
  step: string;
  collection: string;
  command: string;
  shape: string;
  /** src/ frames, innermost first; "—" when the stack held none (a timer's write, a batch). */
  site: string;
  per_run: number;
}

/** runbus's commands of the stack-trace pass, one row per step, shape and call site. */
function callSites(records: Attributed[], completed: number): CallSite[] {
  const rows = new Map<string, CallSite & { count: number }>();
  for (const r of records) {
    if (r.owner !== "runbus") continue;
    const step = r.phase.startsWith("graph") ? "graph" : r.phase;
    const site = r.site ?? "—";
    const key = [step, r.group, r.name, r.shape, site].join("\u0000");
    const row = rows.get(key) ?? { step, collection: r.group, command: r.name, shape: r.shape, site, per_run: 0, count: 0 };
    row.count += 1;
    rows.set(key, row);
  }
  return [...rows.values()]
    .map(({ count, ...row }) => ({ ...row, per_run: round(count / Math.max(1, completed), 2) }))
    .sort((a, b) => phaseRank(a.step) - phaseRank(b.step) || a.collection.localeCompare(b.collection) || b.per_run - a.per_run);
}

// ---------------------------------------------------------------------------------------------
// The driver's side.

function twoNodeRun(): RunCreate {
  return { run_id: benchId("run"), thread_id: benchId("thread"), graph_id: "two_node", input: humanInput(), stream_mode: ["values"] };
}

export async function mongoCommandsBenchmark(servers: BenchServers): Promise<BenchResult> {
  const sequentialRuns = scaled(50, 5);
  const concurrentRuns = scaled(200, 16);
  const stackRuns = scaled(5, 3);
  const warmup = scaled(10, 3);
  const id = benchId("mc").slice(3);
  const spec: WorkerSpec = { brokers: servers.brokers, mongodbUri: servers.mongodbUri, dbName: `bench_mongo_commands_${id}`, topicPrefix: `benchmc${id}.` };
  const worker = Child.start("worker(mongo-commands)", resolve(benchRoot, "mongo-commands.ts"), {
    args: [WORKER_FLAG, JSON.stringify(spec)],
    logFile: resolve(resultsDir, "logs", `worker-mongo-commands-${id}.log`),
  });
  const client = new MongoClient(servers.mongodbUri);
  const driver = new RunDriver(servers.brokers, spec.topicPrefix, "shared");
  try {
    const ready = await worker.next<ReadyReply & { [key: string]: unknown }>("ready", 120_000);
    await client.connect();
    const reaper = new Reaper(client.db(spec.dbName));
    await driver.start();
    const runOne = async (command: RunCreate) => {
      try {
        return await driver.run(command);
      } finally {
        reaper.add(command.thread_id);
      }
    };
    log(`mongo-commands: ${warmup} warm-up runs`);
    for (let i = 0; i < warmup; i++) await runOne(twoNodeRun());
    await reaper.flush();

    /** `total` runs, `inFlight` at a time, inside one recorded pass. */
    const pass = async (label: string, total: number, inFlight: number, stacks: boolean) => {
      log(`mongo-commands: ${label}: ${total} runs, ${inFlight} in flight${stacks ? ", a stack trace per command" : ""}`);
      const commands = Array.from({ length: total }, twoNodeRun);
      const threadToRun = new Map(commands.map((c) => [c.thread_id, c.run_id]));
      const statuses: string[] = [];
      await worker.call({ type: "pass-start", stacks }, "pass-started");
      let next = 0;
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < commands.length) {
            const command = commands[next++]!;
            // Done = the thread's release and `end` seen; the run's terminal audit record (keyed by
            // run, so on another partition than the thread's release) may come a moment later.
            const timing = await runOne(command).catch((error: unknown) => ({ status: `failed: ${error instanceof Error ? error.message : String(error)}` }));
            statuses.push(timing.status ?? "ended (terminal status not read yet)");
            // Between runs, only when one at a time: the reaper's deletes are not the worker's, but its load is the server's.
            if (inFlight === 1 && statuses.length % REAP_EVERY === 0) await reaper.flush();
          }
        }),
      );
      const reply = await worker.call<PassReply & { [key: string]: unknown }>({ type: "pass-end" }, "pass", 60_000);
      await reaper.flush();
      const completed = statuses.filter((s) => !s.startsWith("failed")).length;
      const records = attribute(reply.records, ready.checkpointCollections, threadToRun, new Set(threadToRun.values()));
      const counts: Record<string, number> = {};
      for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
      return { figures: figures(records, total, completed, reply.cpuMs, reply.wallMs), statuses: counts, records, completed };
    };
    const sequential = await pass("one at a time", sequentialRuns, 1, false);
    const concurrent = await pass(`${CONCURRENCY} in flight`, concurrentRuns, CONCURRENCY, false);
    const traced = await pass("call sites", stackRuns, 1, true);

    const own = sequential.figures.commands_per_run.runbus;
    const ownConcurrent = concurrent.figures.commands_per_run.runbus;
    const sites = callSites(traced.records, traced.completed);
    const sitesOf = (o: { collection: string; command: string; shape: string; step: string }) => {
      const same = (s: CallSite) => s.collection === o.collection && s.command === o.command && s.shape === o.shape;
      const found = sites.filter((s) => same(s) && s.step === o.step);
      return [...new Set((found.length ? found : sites.filter(same)).map((s) => s.site))];
    };
    const withSites = (f: PassFigures): PassFigures => ({ ...f, by_operation: f.by_operation.map((o) => (o.owner === "runbus" ? { ...o, sites: sitesOf(o) } : o)) });
    const ratioToTarget = round(own / OWN_COMMANDS_TARGET, 3);
    return {
      name: "mongo-commands",
      title: "MongoDB commands per run, by owner, collection, command and step",
      config: {
        graph: "two_node",
        sequentialRuns,
        concurrentRuns,
        concurrency: CONCURRENCY,
        stackRuns,
        warmup,
        topicMode: "shared",
        target_own_commands_per_run: OWN_COMMANDS_TARGET,
        monitored_clients: ["main (stores, MongoDBSaver)", "lease (renewals, takeovers)"],
        checkpoint_collections: ready.checkpointCollections,
        saver_shares_main_client: ready.saverSharesMainClient,
      },
      summary: {
        runbus_own_per_run: own,
        runbus_own_per_run_concurrent: ownConcurrent,
        checkpointer_per_run: sequential.figures.commands_per_run.checkpointer,
        checkpointer_per_run_concurrent: concurrent.figures.commands_per_run.checkpointer,
        target_own_per_run: OWN_COMMANDS_TARGET,
        ratio_to_target: ratioToTarget,
        ratio_to_target_concurrent: round(ownConcurrent / OWN_COMMANDS_TARGET, 3),
        target_met: own <= OWN_COMMANDS_TARGET,
        worker_cpu_ms_per_run: sequential.figures.worker_cpu_ms_per_run,
        worker_cpu_ms_per_run_concurrent: concurrent.figures.worker_cpu_ms_per_run,
        sequential: withSites(sequential.figures),
        concurrent: withSites(concurrent.figures),
        call_sites: sites,
      },
      samples: { statuses: { sequential: sequential.statuses, concurrent: concurrent.statuses, call_sites: traced.statuses } },
      targets: [
        {
          name: "runbus's own MongoDB commands per two-node run",
          target: `≤ ${OWN_COMMANDS_TARGET} per run (issue 13)`,
          measured: `${own} per run one at a time (×${ratioToTarget} of the target), ${ownConcurrent} at ${CONCURRENCY} in flight; MongoDBSaver ${sequential.figures.commands_per_run.checkpointer} more`,
          pass: own <= OWN_COMMANDS_TARGET,
        },
      ],
      notes: [
        "Commands counted at the driver (commandStarted) on both of the worker's clients; the pass ends when the worker hosts no run, so each run's last write is in.",
        "Per run = commands in the pass / runs completed in it, whatever run (or none) they serve; batched and background commands are shared out the same way.",
      ],
    };
  } finally {
    await driver.stop();
    await worker.stop();
    await client.db(spec.dbName).dropDatabase().catch(() => undefined);
    await client.close();
  }
}

if (process.argv[2] === WORKER_FLAG) await serveWorker(JSON.parse(process.argv[3] ?? "{}") as WorkerSpec);

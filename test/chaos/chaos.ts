/**
 * The chaos scenario: `runbus worker` processes on one broker and one MongoDB-compatible
 * server take a stream of runs over many threads with mixed multitask strategies and cancels, while
 * a worker (the one running the most runs) is SIGKILLed every few seconds (and replaced by a new
 * process with a new worker id) and the broker is restarted once. Then every accepted run must
 * end exactly once, with a gapless stream, a valid audit path, and never two active runs on a
 * thread; every run that changed hands must have done so after a kill of its worker, soon enough;
 * and the chaos graph's tool must have run a step again only after a kill of the worker that ran it.
 *
 * `runChaos` returns the figures and the failures; the callers print them (test/chaos/run.ts for
 * `npm run chaos`, test/chaos/chaos.test.ts for `npm test`).
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Topics } from "../../src/adapters/kafka/topics.js";
import { openMongoStores, type MongoStores } from "../../src/adapters/mongo/stores.js";
import { createClient, type RunbusClient } from "../../src/client/client.js";
import { isRunbusError, messageOf } from "../../src/errors.js";
import type { MultitaskStrategy } from "../../src/protocol/commands.js";
import type { Reply } from "../../src/protocol/replies.js";
import { isTerminalRunStatus } from "../../src/protocol/run-status.js";
import {
  byId,
  checkChaosFigures,
  checkRunPath,
  checkRunSpans,
  checkRunTopic,
  checkThreadClaims,
  checkToolCoverage,
  checkToolExecutions,
  parseAudit,
  type AuditRecord,
  type RunTopicSummary,
} from "./checks.js";
import { startKiller, type Killer } from "./killer.js";
import { readTopics } from "./read-topics.js";
import { analyseTakeovers, type TakeoverFigures } from "./takeovers.js";
import { TOOL_EXECUTIONS_COLLECTION, type ToolExecution } from "./tool-executions.js";

/** Sends of one command that did not reach the broker (a restart takes up to ~7 s here), a second apart. */
const SEND_ATTEMPTS = 6;
import { WorkerFleet, sleep, withTimeout } from "./worker-fleet.js";

const execFileAsync = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

export interface ChaosConfig {
  /** Worker processes kept running (a killed one is replaced at once). */
  workers: number;
  runs: number;
  threads: number;
  /**
   * From the first running run to the end of the load window, a worker (the one running the most
   * runs, ties at random) is SIGKILLed this often and replaced at once; a kill waits only while
   * fewer than two workers are up (one must live on to take the runs over).
   */
  killEveryMs: number;
  /** Fewer kills than this is a failure: the scenario did not test what it claims. */
  minKills: number;
  /** Restart the broker once, halfway through the load, when its workdir is known. */
  brokerRestart: boolean;
  /** Every accepted run must be terminal within this long from the scenario's start. */
  durationLimitMs: number;
  /** How long the creates (and the kills) are spread over (default: minKills + 4 kill intervals). */
  loadWindowMs?: number;
  /** RUNBUS_LEASE_MS of the workers (default 6000: a short lease, for quick takeovers). */
  leaseMs?: number;
  /**
   * The longest a killed worker's run may wait for its takeover (default lease + 3 s: lease times
   * come from the database server's clock, so no skew allowance; 1.5 × lease + 3 s if one must stay).
   */
  maxKillToTakeoverMs?: number;
  /** Seed of the plan (threads, graphs, strategies, cancels, pauses); random when unset. */
  seed?: number;
}

export interface ChaosServers {
  brokers: string[];
  mongodbUri: string;
  /** The workdir of a broker started by tools/kafka/start.sh; null when it came from elsewhere. */
  kafkaWorkdir: string | null;
}

/** The takeover figures (takeovers.ts) and the scenario's own. */
export interface ChaosFigures extends TakeoverFigures {
  seed: number;
  workers: number;
  runs: number;
  threads: number;
  accepted: number;
  rejected: number;
  rejectedByCode: Record<string, number>;
  unanswered: number;
  sendRetries: number;
  cancels: number;
  cancelsUnanswered: number;
  statuses: Record<string, number>;
  kills: number;
  minKills: number;
  workersStarted: number;
  maxKillToTakeoverLimitMs: number;
  toolExecutions: number;
  toolExecutionsRepeatedAfterKill: number;
  toolExecutionsDuplicated: number;
  toolExecutionsByNonOwner: number;
  brokerRestarts: number;
  brokerRestartMs: number | null;
  brokerRestartSkipped: string | null;
  storedButNotAccepted: number;
  allTerminalAfterMs: number | null;
  durationMs: number;
}

export interface ChaosReport {
  figures: ChaosFigures;
  /** Broken assertions, one sentence each; empty when the scenario passed. */
  failures: string[];
  /** Observations that are not failures (a broker restart that was not done and why, …). */
  notes: string[];
  /** Where the workers' logs are. */
  logDir: string;
}

interface RunPlan {
  runId: string;
  threadId: string;
  graph: "agent" | "echo";
  strategy: MultitaskStrategy;
  /** When it is created, from the start of the load window. */
  atMs: number;
  cancel: { action: "interrupt" | "rollback"; afterMs: number } | null;
}

interface CreateOutcome {
  plan: RunPlan;
  reply: Reply | null;
  error: string | null;
  sentAt: number;
}

interface CancelOutcome {
  runId: string;
  action: "interrupt" | "rollback";
  reply: Reply | null;
  error: string | null;
}

/** A small seeded PRNG (mulberry32), so a failing plan can be replayed with its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick<T>(rand: () => number, weighted: ReadonlyArray<readonly [T, number]>): T {
  let r = rand() * weighted.reduce((sum, [, w]) => sum + w, 0);
  for (const [value, weight] of weighted) {
    r -= weight;
    if (r < 0) return value;
  }
  return weighted.at(-1)![0];
}

/**
 * Runs spread over threads and over the whole load window (so kills find runs to the end of it);
 * a thread's creates come partly in bursts, so strategies meet busy threads.
 */
function makePlan(config: ChaosConfig, loadWindowMs: number, rand: () => number, tag: string): RunPlan[][] {
  const threads: RunPlan[][] = Array.from({ length: config.threads }, () => []);
  for (let i = 0; i < config.runs; i++) {
    const t = i % config.threads;
    const previous = threads[t]!.at(-1);
    const burst = previous !== undefined && rand() < 0.6;
    const cancelled = rand() < 0.15;
    threads[t]!.push({
      runId: `${tag}-r${i}`,
      threadId: `${tag}-t${t}`,
      graph: pick(rand, [["agent", 0.8], ["echo", 0.2]] as const),
      strategy: pick(rand, [["reject", 0.3], ["enqueue", 0.35], ["interrupt", 0.175], ["rollback", 0.175]] as const),
      atMs: Math.round(burst ? previous.atMs + rand() * 150 : rand() * loadWindowMs),
      cancel: cancelled ? { action: rand() < 0.5 ? "interrupt" : "rollback", afterMs: Math.round(rand() * 250) } : null,
    });
  }
  // A thread's runs are created in time order; a burst stays right behind the run it follows.
  for (const thread of threads) thread.sort((a, b) => a.atMs - b.atMs);
  return threads;
}

export async function runChaos(config: ChaosConfig, servers: ChaosServers, options: { log?: (line: string) => void } = {}): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(`[chaos] ${line}\n`));
  const startedAt = Date.now();
  const deadline = startedAt + config.durationLimitMs;
  const seed = config.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rand = random(seed);
  const leaseMs = config.leaseMs ?? 6000;
  const maxKillToTakeoverMs = config.maxKillToTakeoverMs ?? leaseMs + 3000;
  const loadWindowMs = config.loadWindowMs ?? config.killEveryMs * (config.minKills + 4);
  const tag = `chaos-${randomUUID().slice(0, 6)}`;
  const prefix = `${tag}.`;
  const topics = new Topics(prefix);
  const logDir = mkdtempSync(join(tmpdir(), "runbus-chaos-"));
  const failures: string[] = [];
  const notes: string[] = [];
  log(`seed ${seed}, prefix ${prefix}, database runbus_${tag.replace(/-/g, "_")}, worker logs in ${logDir}`);

  const fleet = new WorkerFleet({
    root: ROOT,
    settings: {
      RUNBUS_KAFKA_BROKERS: servers.brokers.join(","),
      RUNBUS_MONGODB_URI: servers.mongodbUri,
      RUNBUS_MONGODB_DB: `runbus_${tag.replace(/-/g, "_")}`,
      RUNBUS_TOPIC_PREFIX: prefix,
      RUNBUS_LEASE_MS: String(leaseMs),
      RUNBUS_SHUTDOWN_GRACE_MS: "3000",
      RUNBUS_LOG_LEVEL: "info",
    },
    graphsModule: "test/fixtures/chaos-graphs.ts",
    logDir,
    startTimeoutMs: 90_000,
    idPrefix: `${tag}-`,
  });
  // Interrupted (Ctrl-C, a test timeout): the workers must not outlive the scenario.
  const killFleet = () => fleet.killAllNow();
  process.once("exit", killFleet);
  let client: RunbusClient | null = null;
  let stores: MongoStores | null = null;
  let killer: Killer | null = null;
  const creates: CreateOutcome[] = [];
  const cancels: CancelOutcome[] = [];
  const restart = { done: 0, ms: null as number | null, skipped: null as string | null, at: null as number | null };
  let sendRetries = 0;
  let allTerminalAfterMs: number | null = null;

  try {
    log(`starting ${config.workers} workers`);
    const initial = Array.from({ length: config.workers }, () => fleet.spawn());
    await Promise.all(initial.map((worker) => worker.ready));
    stores = await openMongoStores({ uri: servers.mongodbUri, dbName: `runbus_${tag.replace(/-/g, "_")}` });
    client = createClient({ brokers: servers.brokers, topicPrefix: prefix, replyTimeoutMs: Math.max(30_000, Math.min(120_000, deadline - Date.now())) });

    const plan = makePlan(config, loadWindowMs, rand, tag);
    const loadStart = Date.now();
    const loadEnd = loadStart + loadWindowMs;
    log(`load: ${config.runs} runs over ${config.threads} threads within ${loadWindowMs} ms; a kill every ${config.killEveryMs} ms`);

    // Chaos: kills on schedule through the load window; one broker restart halfway through it.
    const runDocs = stores.db.collection<{ status: string; worker_id: string | null }>("runs");
    let firstAdmitted!: () => void;
    const runsStarted = new Promise<void>((resolve) => (firstAdmitted = resolve));
    killer = startKiller({
      fleet,
      everyMs: config.killEveryMs,
      endAt: loadEnd,
      runsStarted,
      since: loadStart,
      runningByWorker: async () => {
        const load = new Map<string, number>();
        const running = await runDocs
          .find({ status: "running" }, { projection: { worker_id: 1 } })
          .toArray()
          .catch(() => []);
        for (const doc of running) if (doc.worker_id) load.set(doc.worker_id, (load.get(doc.worker_id) ?? 0) + 1);
        return load;
      },
      rand,
      log,
    });
    const restarter = (async () => {
      if (!config.brokerRestart) {
        restart.skipped = "not asked for (brokerRestart: false)";
        return;
      }
      if (!servers.kafkaWorkdir) {
        restart.skipped =
          "the broker did not come from tools/kafka/start.sh (RUNBUS_KAFKA_BROKERS or Docker), so there is no workdir for tools/kafka/restart.sh";
        log(`BROKER RESTART NOT DONE: ${restart.skipped}.`);
        return;
      }
      await sleep(Math.max(0, loadStart + loadWindowMs / 2 - Date.now()));
      log(`+${Date.now() - loadStart} ms: restarting the broker (tools/kafka/restart.sh ${servers.kafkaWorkdir})`);
      const began = Date.now();
      restart.at = began;
      await execFileAsync("bash", [join(ROOT, "tools/kafka/restart.sh"), servers.kafkaWorkdir], { timeout: 150_000 });
      restart.done++;
      restart.ms = Date.now() - began;
      log(`broker restarted in ${restart.ms} ms`);
    })();

    const cancelTasks: Promise<void>[] = [];
    const send = async (thread: RunPlan[]) => {
      for (const run of thread) {
        await sleep(Math.max(0, loadStart + run.atMs - Date.now()));
        if (Date.now() > deadline) {
          creates.push({ plan: run, reply: null, error: "not sent: the duration limit had passed", sentAt: Date.now() });
          continue;
        }
        const outcome: CreateOutcome = { plan: run, reply: null, error: null, sentAt: Date.now() };
        creates.push(outcome);
        for (let attempt = 1; ; attempt++) {
          try {
            outcome.reply = await client!.runs.create({
              run_id: run.runId,
              thread_id: run.threadId,
              graph_id: run.graph,
              input: { messages: [{ role: "user", content: run.runId }] },
              multitask_strategy: run.strategy,
              // The model's tokens too: a kill mid-turn cuts a stream of them.
              stream_mode: ["updates", "messages-tuple"],
            });
            if (outcome.reply.accepted) firstAdmitted();
            break;
          } catch (error) {
            // The command never reached the broker: send it again (the run id makes it idempotent).
            // No reply in time is not retried: it is what this scenario looks for.
            const noReply = isRunbusError(error) && error.code === "kafka_unreachable";
            if (noReply || attempt >= SEND_ATTEMPTS) {
              outcome.error = messageOf(error);
              break;
            }
            sendRetries++;
            await sleep(1000);
          }
        }
        if (outcome.reply?.accepted && run.cancel) {
          const { action, afterMs } = run.cancel;
          cancelTasks.push(
            (async () => {
              await sleep(afterMs);
              const cancel: CancelOutcome = { runId: run.runId, action, reply: null, error: null };
              cancels.push(cancel);
              // As for creates: a cancel sent while the broker restarts may not reach it; a cancel is
              // idempotent, so it is sent again. No reply in time is not retried.
              for (let attempt = 1; ; attempt++) {
                try {
                  cancel.reply = await client!.runs.cancel(run.threadId, run.runId, action);
                  break;
                } catch (error) {
                  const noReply = isRunbusError(error) && error.code === "kafka_unreachable";
                  if (noReply || attempt >= SEND_ATTEMPTS) {
                    cancel.error = messageOf(error);
                    break;
                  }
                  sendRetries++;
                  await sleep(1000);
                }
              }
            })(),
          );
        }
      }
    };
    await Promise.all(plan.map(send));
    await Promise.all(cancelTasks);
    await killer.done.catch((error: unknown) => {
      failures.push(`The killer failed: ${messageOf(error)}`);
    });
    await restarter.catch((error: unknown) => {
      failures.push(`The broker restart failed: ${messageOf(error)}`);
    });
    log(
      `load done in ${Date.now() - loadStart} ms: ${creates.length} creates, ${cancels.length} cancels, ${fleet.kills.length} kills ` +
        `(scheduled from +${killer.startedAt === null ? "never" : killer.startedAt - loadStart} ms)`,
    );

    // Keep the fleet at full strength for the drain: replacements still starting must come up.
    await Promise.all(
      fleet.live.map((worker) =>
        worker.ready.catch((error: unknown) => {
          failures.push(messageOf(error));
        }),
      ),
    );

    const accepted = creates.filter((c) => c.reply?.accepted).map((c) => c.plan);
    const acceptedIds = accepted.map((run) => run.runId);
    const runs = stores.db.collection<{ _id: string; thread_id: string; status: string; attempt: number; worker_id: string | null; lease_until: Date | null }>("runs");
    let pending = acceptedIds;
    while (pending.length > 0 && Date.now() < deadline) {
      const docs = await runs.find({ _id: { $in: pending } }).toArray();
      const terminal = new Set(docs.filter((doc) => isTerminalRunStatus(doc.status)).map((doc) => doc._id));
      pending = pending.filter((id) => !terminal.has(id));
      if (pending.length > 0) await sleep(500);
    }
    if (pending.length === 0) allTerminalAfterMs = Date.now() - startedAt;
    else {
      const docs = await runs.find({ _id: { $in: pending } }).toArray();
      const found = new Map(docs.map((doc) => [doc._id, doc]));
      failures.push(
        `${pending.length} accepted runs are not terminal ${config.durationLimitMs} ms after the start: ` +
          pending
            .slice(0, 10)
            .map((id) => {
              const doc = found.get(id);
              return doc ? `${id} (${doc.status}, attempt ${doc.attempt}, worker ${doc.worker_id}, lease until ${doc.lease_until?.toISOString()})` : `${id} (no run record)`;
            })
            .join(", ") +
          (pending.length > 10 ? ", …" : "") +
          ".",
      );
    }

    // A run's record is written before its `end`, and its thread released after: let those land.
    const threadIds = plan.map((thread) => thread[0]!.threadId);
    const threadDocs = stores.db.collection<{ _id: string; active_run_id: string | null; status: string }>("threads");
    const settleBy = Math.min(deadline, Date.now() + 15_000);
    let held = await threadDocs.find({ _id: { $in: threadIds }, active_run_id: { $ne: null } }).toArray();
    while (held.length > 0 && Date.now() < settleBy) {
      await sleep(500);
      held = await threadDocs.find({ _id: { $in: threadIds }, active_run_id: { $ne: null } }).toArray();
    }
    for (const thread of held) failures.push(`Thread ${thread._id} is still held by run ${thread.active_run_id} (status ${thread.status}) after every run ended.`);

    log("stopping the workers");
    await fleet.stopAll(20_000);

    // Every run the store has, accepted or not: a run stored under a create the client saw rejected still runs.
    const storedDocs = await runs.find({ thread_id: { $in: threadIds } }).toArray();
    const stored = new Map(storedDocs.map((doc) => [doc._id, doc]));
    const acceptedSet = new Set(acceptedIds);
    const extra = storedDocs.filter((doc) => !acceptedSet.has(doc._id));
    for (const doc of extra) {
      const outcome = creates.find((c) => c.plan.runId === doc._id);
      notes.push(
        `Run ${doc._id} is stored (${doc.status}) though its create was answered ${outcome?.reply ? `accepted:${outcome.reply.accepted} ${outcome.reply.code ?? ""}` : `with no reply (${outcome?.error})`}.`,
      );
      if (!isTerminalRunStatus(doc.status)) failures.push(`Run ${doc._id} (stored, not accepted by the client's reply) is ${doc.status}, not terminal.`);
    }

    // Read back every run topic and the audit topic.
    const readIds = storedDocs.map((doc) => doc._id);
    const read = await readTopics(servers.brokers, [...readIds.map((id) => topics.run(id)), topics.transitions], 120_000);
    const { transitions, problems: auditProblems } = parseAudit(read.records.get(topics.transitions) ?? []);
    failures.push(...auditProblems);
    const runAudit = byId(transitions, "run");
    const threadAudit = byId(transitions, "thread");

    const summaries = new Map<string, RunTopicSummary>();
    for (const id of readIds) {
      const doc = stored.get(id)!;
      const topic = topics.run(id);
      const missing = read.missing.get(topic);
      if (missing !== undefined) {
        failures.push(`Run ${id} (${doc.status}): its topic ${topic} cannot be read: ${missing}`);
        continue;
      }
      const { problems, summary } = checkRunTopic(id, read.records.get(topic) ?? []);
      failures.push(...problems);
      summaries.set(id, summary);
      if (summary.endStatus !== null && summary.endStatus !== doc.status) {
        failures.push(`Run ${id}: its end event says '${summary.endStatus}' but its run record says '${doc.status}'.`);
      }
      failures.push(...checkRunPath(id, runAudit.get(id), doc.status));
    }

    // One active run per thread: claims and releases in the thread's order, and the runs' own spans.
    for (const threadId of threadIds) failures.push(...checkThreadClaims(threadId, threadAudit.get(threadId) ?? []));
    const spansByThread = new Map<string, AuditRecord[][]>();
    for (const [runId, records] of runAudit) {
      const threadId = records[0]?.thread_id ?? stored.get(runId)?.thread_id;
      if (!threadId) continue;
      spansByThread.set(threadId, [...(spansByThread.get(threadId) ?? []), records]);
    }
    failures.push(...checkRunSpans(spansByThread));

    // Every command got a reply.
    const unanswered = creates.filter((c) => !c.reply);
    for (const c of unanswered.slice(0, 10)) failures.push(`Create of run ${c.plan.runId} on ${c.plan.threadId} got no reply: ${c.error}`);
    if (unanswered.length > 10) failures.push(`… and ${unanswered.length - 10} more creates without a reply.`);
    const cancelsUnanswered = cancels.filter((c) => !c.reply);
    for (const c of cancelsUnanswered.slice(0, 10)) failures.push(`Cancel (${c.action}) of run ${c.runId} got no reply: ${c.error}`);
    for (const c of cancels) if (c.reply && !c.reply.accepted) failures.push(`Cancel (${c.action}) of run ${c.runId} was refused: ${c.reply.code} ${c.reply.reason}`);

    // Takeovers: who went on with which run, and whether a kill explains it.
    const brokerDown = restart.at !== null ? { from: restart.at, to: restart.ms !== null ? restart.at + restart.ms : Date.now() } : null;
    const takeovers = analyseTakeovers(summaries, runAudit, fleet.kills, { dueWithinMs: maxKillToTakeoverMs, brokerDown });
    notes.push(...takeovers.notes);

    // Side effects: each step's tool ran again only after a kill of the worker that ran it.
    const executions = await stores.db.collection<ToolExecution>(TOOL_EXECUTIONS_COLLECTION).find({}, { projection: { _id: 0 } }).toArray();
    const tools = checkToolExecutions(executions, fleet.kills);
    failures.push(...tools.problems);
    const succeededAgentRuns = accepted.filter((run) => run.graph === "agent" && stored.get(run.runId)?.status === "success").map((run) => run.runId);
    failures.push(...checkToolCoverage(succeededAgentRuns, executions));
    failures.push(...checkChaosFigures({ kills: fleet.kills.length, ...takeovers.figures }, { minKills: config.minKills, maxKillToTakeoverMs }));

    const rejected = creates.filter((c) => c.reply && !c.reply.accepted);
    const rejectedByCode: Record<string, number> = {};
    for (const c of rejected) rejectedByCode[c.reply!.code ?? "none"] = (rejectedByCode[c.reply!.code ?? "none"] ?? 0) + 1;
    const statuses: Record<string, number> = {};
    for (const id of acceptedIds) {
      const status = stored.get(id)?.status ?? "missing";
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    if (restart.skipped) notes.push(`Broker restart not done: ${restart.skipped}.`);

    const figures: ChaosFigures = {
      seed,
      workers: config.workers,
      runs: creates.length,
      threads: config.threads,
      accepted: accepted.length,
      rejected: rejected.length,
      rejectedByCode,
      unanswered: unanswered.length,
      sendRetries,
      cancels: cancels.length,
      cancelsUnanswered: cancelsUnanswered.length,
      statuses,
      kills: fleet.kills.length,
      minKills: config.minKills,
      workersStarted: fleet.all.length,
      ...takeovers.figures,
      maxKillToTakeoverLimitMs: maxKillToTakeoverMs,
      ...tools.figures,
      brokerRestarts: restart.done,
      brokerRestartMs: restart.ms,
      brokerRestartSkipped: restart.skipped,
      storedButNotAccepted: extra.length,
      allTerminalAfterMs,
      durationMs: Date.now() - startedAt,
    };
    return { figures, failures, notes, logDir };
  } finally {
    killer?.stop();
    fleet.killAllNow();
    process.off("exit", killFleet);
    await Promise.allSettled(fleet.all.map((worker) => withTimeout(worker.exited, 10_000, `worker ${worker.id} to exit`)));
    await client?.close();
    await stores?.close().catch(() => undefined);
  }
}

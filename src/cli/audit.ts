import type { Kafka } from "kafkajs";
import { createKafka } from "../adapters/kafka/client.js";
import { Topics } from "../adapters/kafka/topics.js";
import { RunbusError } from "../errors.js";
import { isComplete, validateRunPath } from "../machines/run-path.js";
import { transitionSchema, type Transition } from "../protocol/audit.js";
import { checkId, clientLogger, EXIT_FAILED, EXIT_OK, kafkaConfig } from "./context.js";
import { bold, cyan, dim, green, red, statusColor } from "./render.js";

export interface AuditOptions {
  /** Give up waiting for the end offsets after this long without a record. */
  idleMs?: number;
}

export interface RunAudit {
  topic: string;
  /** The run's transitions and its thread's, in time order. */
  timeline: Transition[];
  /** The run's statuses in audit order: the path checked against the run machine. */
  path: string[];
  /** False when reading stopped (idle) before the end offsets fetched at the start. */
  reachedEnd: boolean;
}

/** `runbus audit <run_id>`: the run's state transitions from the audit topic, and whether its path is one the run machine allows. */
export async function auditCommand(runId: string, options: AuditOptions = {}): Promise<number> {
  checkId("run", runId);
  const config = kafkaConfig("audit");
  const kafka = createKafka(config.kafka, clientLogger(), "runbus-cli-audit");
  const audit = await readRunAudit(kafka, new Topics(config.topicPrefix), runId, options);
  const out = process.stdout;
  const threadId = audit.timeline.find((t) => t.kind === "run")?.thread_id ?? "?";
  out.write(`${bold("audit")} run ${runId} ${dim("thread")} ${threadId} ${dim(`— ${audit.timeline.length} transitions on ${audit.topic}`)}\n`);
  out.write(timelineTable(audit.timeline));
  if (!audit.reachedEnd) out.write(`${dim("(stopped waiting for the rest of the topic: no record came for a while)")}\n`);

  const verdict = validateRunPath(audit.path);
  const path = audit.path.join(" → ");
  if (!verdict.valid) {
    out.write(`${bold("path")} ${path}: ${red("invalid")} — ${verdict.reason}\n`);
    return EXIT_FAILED;
  }
  const state = isComplete(audit.path) ? "complete" : "the run has not ended yet";
  out.write(`${bold("path")} ${path}: ${green("valid")} path of the run machine (${state})\n`);
  return EXIT_OK;
}

function moveOf(t: Transition): string {
  return `${t.from ?? "∅"} → ${t.to}`;
}

/** One line per transition: time, kind, from → to, cause, worker; columns sized to their content. */
export function timelineTable(timeline: readonly Transition[]): string {
  const moveWidth = Math.max(0, ...timeline.map((t) => moveOf(t).length));
  const causeWidth = Math.max(0, ...timeline.map((t) => t.cause.length));
  return timeline
    .map((t) => {
      // Pad the plain text and colour only the status: escape codes must not count toward the width.
      const move = `${t.from ?? "∅"} → ${statusColor(t.to)(t.to)}${" ".repeat(moveWidth - moveOf(t).length)}`;
      return `  ${dim(t.at)}  ${cyan(t.kind.padEnd(6))}  ${move}  ${t.cause.padEnd(causeWidth)}  ${dim(t.worker_id)}\n`;
    })
    .join("");
}

/**
 * Reads the audit topic from the beginning up to the end offsets it had when the read began,
 * with a consumer group of its own (deleted afterwards), keeping the run's records (keyed by
 * run id) and its thread's records about this run.
 */
export async function readRunAudit(kafka: Kafka, topics: Topics, runId: string, options: AuditOptions = {}): Promise<RunAudit> {
  const topic = topics.transitions;
  const admin = kafka.admin();
  const groupId = topics.readerGroup("audit");
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      throw new RunbusError("config_invalid", `Topic ${topic} does not exist: no worker has run on these brokers with this RUNBUS_TOPIC_PREFIX`);
    }
    const ends = new Map<number, number>();
    for (const p of await admin.fetchTopicOffsets(topic)) {
      if (Number(p.high) > Number(p.low)) ends.set(p.partition, Number(p.high));
    }
    const runRecords: Transition[] = [];
    const threadRecords: Transition[] = [];
    const reachedEnd = ends.size === 0 ? true : await consumeUntil(kafka, groupId, topic, ends, options.idleMs ?? 15_000, (key, value) => {
      if (key === runId) {
        const parsed = transitionSchema.safeParse(value);
        if (parsed.success && parsed.data.kind === "run") runRecords.push(parsed.data);
        return;
      }
      const parsed = transitionSchema.safeParse(value);
      if (parsed.success && parsed.data.kind === "thread") threadRecords.push(parsed.data);
    });
    if (runRecords.length === 0) throw new RunbusError("run_not_found", `No transitions of run ${runId} on ${topic}`);

    // By time first: a run resumed by another worker continues on that worker's clock and seq.
    runRecords.sort((a, b) => a.at.localeCompare(b.at) || a.seq - b.seq);
    const threadId = runRecords[0]!.thread_id;
    const first = runRecords[0]!.at;
    const last = runRecords.at(-1)!.at;
    const ofThisRun = threadRecords.filter((t) => t.thread_id === threadId && aboutRun(t, runId, first, last));
    const timeline = [...runRecords, ...ofThisRun].sort((a, b) => a.at.localeCompare(b.at) || kindOrder(a) - kindOrder(b) || a.seq - b.seq);
    return { topic, timeline, path: runRecords.map((t) => t.to), reachedEnd };
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * A thread transition belongs to the run when its cause names the run (`claimed:<run>`,
 * `released:<run>:<status>`), or names no run and happened while the run was live (`created`).
 */
function aboutRun(t: Transition, runId: string, first: string, last: string): boolean {
  const [, named] = t.cause.split(":");
  if (named !== undefined) return named === runId;
  return t.at >= first && t.at <= last;
}

/** On equal times the run's own transition comes first: it caused the thread's. */
function kindOrder(t: Transition): number {
  return t.kind === "run" ? 0 : 1;
}

async function consumeUntil(
  kafka: Kafka,
  groupId: string,
  topic: string,
  ends: Map<number, number>,
  idleMs: number,
  keep: (key: string | undefined, value: unknown) => void,
): Promise<boolean> {
  const remaining = new Set(ends.keys());
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 });
  let settle: (reachedEnd: boolean) => void = () => undefined;
  let fail: (error: unknown) => void = () => undefined;
  const done = new Promise<boolean>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  // The idle clock restarts when the group is joined (records flow only then) and on every record.
  let idle: NodeJS.Timeout | undefined;
  let settled = false;
  void done.finally(() => (settled = true)).catch(() => undefined);
  const touch = () => {
    clearTimeout(idle);
    if (!settled) idle = setTimeout(() => settle(false), idleMs);
  };
  await consumer.connect();
  try {
    consumer.on(consumer.events.GROUP_JOIN, touch);
    consumer.on(consumer.events.CRASH, (event) => fail(event.payload.error));
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        touch();
        let value: unknown = null;
        try {
          value = JSON.parse(message.value?.toString() ?? "null");
        } catch {
          // Not JSON: not a transition runbus wrote; skip it.
        }
        keep(message.key?.toString(), value);
        const end = ends.get(partition);
        if (end !== undefined && Number(message.offset) + 1 >= end && remaining.delete(partition) && remaining.size === 0) settle(true);
      },
    });
    touch();
    return await done;
  } finally {
    clearTimeout(idle);
    await consumer.disconnect().catch(() => undefined);
  }
}

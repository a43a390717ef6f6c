/**
 * What the chaos scenario asserts, as pure functions over what it read back: each run's topic, the
 * audit topic, the run records. Each check returns sentences that name the run or thread and the
 * offending records; an empty list means the check held.
 */
import { isComplete, validateRunPath } from "../../src/machines/run-path.js";
import { distinctTransitions, transitionSchema, type Transition } from "../../src/protocol/audit.js";
import { isTerminalRunStatus } from "../../src/protocol/run-status.js";
import type { TopicRecord } from "./read-topics.js";
import type { ToolExecution } from "./tool-executions.js";
import type { Kill } from "./worker-fleet.js";

/** One attempt of a run on its topic: the records from one `metadata` to the next. */
export interface Attempt {
  attempt: number | null;
  /** The worker that wrote the attempt's first record (from ce_source). */
  worker: string | null;
  /** When its first record was written. */
  at: number;
  /** The worker that wrote the record before the attempt's first one: its previous owner. */
  previousWriter: string | null;
  seqs: number[];
}

/** A record written by another worker than the record before it: the run changed hands. */
export interface Handover {
  from: string;
  to: string;
  /** When the new writer's first record was written. */
  at: number;
  /** That record's event name: `metadata` (a resumed attempt) or `end` are written at the takeover itself. */
  event: string;
}

export interface RunTopicSummary {
  attempts: Attempt[];
  /** Every worker that wrote to the topic, in order of first appearance. */
  workers: string[];
  /** When each worker wrote its first record to the topic (the record's timestamp). */
  firstWrite: Record<string, number>;
  handovers: Handover[];
  endStatus: string | null;
}

const SOURCE_PREFIX = "runbus/worker/";

export function workerOf(record: TopicRecord): string | null {
  const source = record.headers.ce_source ?? "";
  return source.startsWith(SOURCE_PREFIX) ? source.slice(SOURCE_PREFIX.length) : null;
}

/**
 * A run's topic: the first record is `metadata`; `runbus_seq` runs 0, 1, 2, … in offset order across
 * attempts (a takeover continues from the topic's high watermark); exactly one `end`, the last record.
 */
export function checkRunTopic(runId: string, records: readonly TopicRecord[]): { problems: string[]; summary: RunTopicSummary } {
  const problems: string[] = [];
  const attempts: Attempt[] = [];
  const workers: string[] = [];
  let endStatus: string | null = null;
  const firstWrite: Record<string, number> = {};
  const handovers: Handover[] = [];
  if (records.length === 0) return { problems: [`Run ${runId}: its topic is empty.`], summary: { attempts, workers, firstWrite, handovers, endStatus } };
  if (records[0]?.headers.runbus_event !== "metadata") {
    problems.push(`Run ${runId}: the first record (offset ${records[0]?.offset}) is '${records[0]?.headers.runbus_event}', not metadata.`);
  }
  const seqProblems: string[] = [];
  const ends: number[] = [];
  let previousWriter: string | null = null;
  for (const [index, record] of records.entries()) {
    const name = record.headers.runbus_event ?? "";
    const seq = Number(record.headers.runbus_seq);
    const worker = workerOf(record);
    if (worker && !workers.includes(worker)) {
      workers.push(worker);
      firstWrite[worker] = record.timestamp;
    }
    if (worker && previousWriter && worker !== previousWriter) handovers.push({ from: previousWriter, to: worker, at: record.timestamp, event: name });
    if (name === "metadata" || attempts.length === 0) {
      const attempt = name === "metadata" ? ((JSON.parse(record.value ?? "{}") as { attempt?: number }).attempt ?? null) : null;
      attempts.push({ attempt, worker, at: record.timestamp, previousWriter, seqs: [] });
    }
    previousWriter = worker ?? previousWriter;
    attempts.at(-1)?.seqs.push(seq);
    if (seq !== index) {
      seqProblems.push(`offset ${record.offset} (${name}, attempt ${attempts.at(-1)?.attempt}, worker ${worker}) has seq ${record.headers.runbus_seq}, expected ${index}`);
    }
    if (name === "end") {
      ends.push(record.offset);
      endStatus = (JSON.parse(record.value ?? "{}") as { status?: string }).status ?? null;
    }
  }
  if (seqProblems.length > 0) {
    const all = records.map((r) => Number(r.headers.runbus_seq));
    const duplicates = [...new Set(all.filter((seq, i) => all.indexOf(seq) !== i))];
    const present = new Set(all);
    const gaps = Array.from({ length: Math.max(...all.filter(Number.isFinite), -1) + 1 }, (_, i) => i).filter((seq) => !present.has(seq));
    problems.push(
      `Run ${runId}: seqs are not 0..${records.length - 1} in offset order (duplicates [${duplicates.join(",")}], gaps [${gaps.join(",")}]): ` +
        `${seqProblems.slice(0, 5).join("; ")}${seqProblems.length > 5 ? `; … ${seqProblems.length - 5} more` : ""}.`,
    );
  }
  const numbered = attempts.map((a) => a.attempt).filter((a): a is number => a !== null);
  if (numbered.some((attempt, i) => i > 0 && attempt <= numbered[i - 1]!)) {
    problems.push(`Run ${runId}: metadata attempts are not increasing: ${numbered.join(", ")}.`);
  }
  if (ends.length !== 1) problems.push(`Run ${runId}: ${ends.length} end events (offsets ${ends.join(", ") || "none"}), expected exactly one.`);
  else if (records.at(-1)?.headers.runbus_event !== "end") {
    problems.push(`Run ${runId}: the end event (offset ${ends[0]}) is not the last record; the last is '${records.at(-1)?.headers.runbus_event}'.`);
  }
  return { problems, summary: { attempts, workers, firstWrite, handovers, endStatus } };
}

export interface AuditRecord extends Transition {
  partition: number;
  offset: number;
}

/** The audit topic's records, parsed and without re-deliveries; a record that is not a transition is a problem. */
export function parseAudit(records: readonly TopicRecord[]): { transitions: AuditRecord[]; problems: string[] } {
  const transitions: AuditRecord[] = [];
  const problems: string[] = [];
  for (const record of records) {
    const parsed = transitionSchema.safeParse(JSON.parse(record.value ?? "null"));
    if (!parsed.success) problems.push(`Audit record ${record.partition}@${record.offset} is not a transition: ${record.value}.`);
    else transitions.push({ ...parsed.data, partition: record.partition, offset: record.offset });
  }
  // A takeover publishes its dead owner's stored transitions again (same ce_id): read once.
  return { transitions: distinctTransitions(transitions), problems };
}

/** Per key (run or thread id), its records in offset order: the order they were appended in. */
export function byId(transitions: readonly AuditRecord[], kind: "run" | "thread"): Map<string, AuditRecord[]> {
  const out = new Map<string, AuditRecord[]>();
  for (const t of transitions) {
    if (t.kind !== kind) continue;
    const list = out.get(t.id) ?? [];
    list.push(t);
    out.set(t.id, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  return out;
}

/** A run's audit path is a complete, valid path of the run machine, ending in `status`. */
export function checkRunPath(runId: string, records: readonly AuditRecord[] | undefined, status: string | undefined): string[] {
  if (!records || records.length === 0) return [`Run ${runId}: no audit records.`];
  const path = records.map((t) => t.to);
  const shown = records.map((t) => `${t.to}(${t.cause}, ${t.worker_id}, @${t.offset})`).join(" → ");
  const verdict = validateRunPath(path);
  if (!verdict.valid) return [`Run ${runId}: audit path ${shown} is not a path of the run machine: ${verdict.reason}`];
  if (!isComplete(path)) return [`Run ${runId}: audit path ${shown} does not end in a terminal status.`];
  if (status !== undefined && path.at(-1) !== status) return [`Run ${runId}: audit path ends '${path.at(-1)}' but the run record says '${status}'.`];
  return [];
}

/**
 * One active run per thread, from the thread transitions in the order they were appended to the
 * thread's partition: after `claimed:X`, the next claim must come after `released:X`.
 */
export function checkThreadClaims(threadId: string, records: readonly AuditRecord[]): string[] {
  const problems: string[] = [];
  let holder = null as { runId: string; record: AuditRecord } | null;
  for (const record of records) {
    const [verb, runId] = record.cause.split(":");
    if (verb === "claimed" && runId) {
      if (holder && holder.runId !== runId) {
        const held = holder.runId;
        const release = records.find((r) => r.cause.startsWith(`released:${held}:`));
        problems.push(
          `Thread ${threadId}: run ${runId} claimed it (${record.worker_id}, ${record.at}, @${record.offset}) while run ${holder.runId} held it ` +
            `(claimed by ${holder.record.worker_id} at ${holder.record.at}, @${holder.record.offset}); ` +
            (release ? `its release is at @${release.offset} (${release.worker_id}, ${release.at}).` : "it has no release record."),
        );
      } else if (holder?.runId === runId) {
        problems.push(`Thread ${threadId}: run ${runId} claimed it twice (@${holder.record.offset}, @${record.offset}).`);
      }
      holder = { runId, record };
    } else if (verb === "released" && runId) {
      if (holder?.runId === runId) holder = null;
      else {
        problems.push(
          `Thread ${threadId}: run ${runId} released it (${record.worker_id}, ${record.at}, @${record.offset}) ` +
            (holder ? `while run ${holder.runId} held it (@${holder.record.offset}).` : "without a claim record before it."),
        );
      }
    }
  }
  return problems;
}

/**
 * One active run per thread, from the runs' own transitions: the spans from entering `running`
 * to the terminal status (both inside the run's hold of the thread) never overlap on a thread.
 */
export function checkRunSpans(runsByThread: ReadonlyMap<string, ReadonlyArray<readonly AuditRecord[]>>): string[] {
  const problems: string[] = [];
  for (const [threadId, runs] of runsByThread) {
    const spans = runs
      .map((records) => {
        const start = records.find((t) => t.to === "running");
        const end = records.find((t) => isTerminalRunStatus(t.to));
        return start ? { runId: start.id, from: Date.parse(start.at), to: end ? Date.parse(end.at) : Number.POSITIVE_INFINITY } : null;
      })
      .filter((span): span is { runId: string; from: number; to: number } => span !== null)
      .sort((a, b) => a.from - b.from);
    // The span that reaches furthest so far: a later start before its end is an overlap.
    let previous: (typeof spans)[number] | undefined;
    for (const span of spans) {
      if (previous && span.from < previous.to) {
        problems.push(
          `Thread ${threadId}: run ${span.runId} entered running at ${new Date(span.from).toISOString()} while run ${previous.runId} was active ` +
            `(running from ${new Date(previous.from).toISOString()} to ${Number.isFinite(previous.to) ? new Date(previous.to).toISOString() : "never terminal"}).`,
        );
      }
      if (!previous || span.to > previous.to) previous = span;
    }
  }
  return problems;
}

export interface ToolExecutionFigures {
  toolExecutions: number;
  /** A step executed again after a kill of the worker that executed it before: allowed. */
  toolExecutionsRepeatedAfterKill: number;
  /** A step executed again with no kill of its previous executor in between. */
  toolExecutionsDuplicated: number;
  /** Executions by a worker that was not the run record's owner when they began. */
  toolExecutionsByNonOwner: number;
}

/**
 * Side effects at most once outside crashes: per run and step, each execution after the first
 * must follow a kill of the worker that executed the one before it.
 */
export function checkToolExecutions(executions: readonly ToolExecution[], kills: readonly Kill[]): { figures: ToolExecutionFigures; problems: string[] } {
  const problems: string[] = [];
  const figures: ToolExecutionFigures = {
    toolExecutions: executions.length,
    toolExecutionsRepeatedAfterKill: 0,
    toolExecutionsDuplicated: 0,
    toolExecutionsByNonOwner: executions.filter((e) => e.owner_id !== e.worker_id).length,
  };
  const bySteps = new Map<string, ToolExecution[]>();
  for (const execution of executions) {
    const key = `${execution.run_id} step ${execution.step}`;
    bySteps.set(key, [...(bySteps.get(key) ?? []), execution]);
  }
  const shown = (e: ToolExecution) => `${e.worker_id} (attempt ${e.attempt}, owner ${e.owner_id}) at ${e.at.toISOString()}`;
  for (const [key, list] of bySteps) {
    list.sort((a, b) => a.at.getTime() - b.at.getTime());
    for (let i = 1; i < list.length; i++) {
      const before = list[i - 1]!;
      const again = list[i]!;
      const killed = kills.some((kill) => kill.workerId === before.worker_id && kill.at >= before.at.getTime() && kill.at <= again.at.getTime());
      if (killed) {
        figures.toolExecutionsRepeatedAfterKill++;
        continue;
      }
      figures.toolExecutionsDuplicated++;
      problems.push(`Run ${key}: the tool ran again by ${shown(again)} after ${shown(before)}, and no kill of ${before.worker_id} came in between.`);
    }
  }
  return { figures, problems };
}

/** The ledger is written at all: every agent run that succeeded has at least one tool execution. */
export function checkToolCoverage(succeededAgentRuns: readonly string[], executions: readonly ToolExecution[]): string[] {
  const executed = new Set(executions.map((e) => e.run_id));
  const missing = succeededAgentRuns.filter((runId) => !executed.has(runId));
  if (missing.length === 0) return [];
  return [
    `${missing.length} of ${succeededAgentRuns.length} successful agent runs have no tool execution recorded ` +
      `(${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}): the chaos tool's ledger is not being written.`,
  ];
}

/** What the kills must show: enough of them, each run taken over in time, and no live worker losing a run. */
export function checkChaosFigures(
  figures: {
    kills: number;
    resumedWithoutKill: number;
    runsTakenOverAfterKills: number;
    maxKillToTakeoverMs: number | null;
  },
  limits: { minKills: number; maxKillToTakeoverMs: number },
): string[] {
  const problems: string[] = [];
  if (figures.kills < limits.minKills) problems.push(`Only ${figures.kills} kills landed; the scenario needs at least ${limits.minKills}.`);
  if (figures.kills > 0 && figures.runsTakenOverAfterKills === 0) problems.push(`${figures.kills} kills, but no run changed hands after any of them: the kills hit no run.`);
  if (figures.resumedWithoutKill > 0) {
    problems.push(`${figures.resumedWithoutKill} resumed attempts took a run from a worker that had not been killed (see the notes).`);
  }
  if (figures.runsTakenOverAfterKills > 0 && figures.maxKillToTakeoverMs === null) {
    problems.push("No takeover after a kill could be timed apart from the broker restart: the kill → takeover limit was never tested.");
  }
  if (figures.maxKillToTakeoverMs !== null && figures.maxKillToTakeoverMs > limits.maxKillToTakeoverMs) {
    problems.push(`The longest kill → takeover took ${figures.maxKillToTakeoverMs} ms, more than the ${limits.maxKillToTakeoverMs} ms allowed.`);
  }
  return problems;
}

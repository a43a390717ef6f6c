/**
 * Who took which run over, and whether a kill explains it, from the runs' topics and the kill
 * log. A live worker never loses a run to another (DESIGN §7): every change of hands must follow
 * a kill of the run's previous writer, and come within the lease (plus a sweep) of that kill.
 */
import type { AuditRecord, RunTopicSummary } from "./checks.js";
import type { Kill } from "./worker-fleet.js";

export interface TakeoverFigures {
  /** Runs written by more than one worker, or with more than one attempt. */
  takeovers: number;
  /** Attempts after the first: the graph resumed from its last checkpoint. */
  resumedAttempts: number;
  /** Changes of hands (any record, a resumed attempt or not) whose previous writer had not been killed. */
  takeoversWithoutKill: number;
  /** Resumed attempts whose previous owner was alive: not killed before the attempt began, or itself. */
  resumedWithoutKill: number;
  /** Runs that changed hands after a kill of their writer. */
  runsTakenOverAfterKills: number;
  /**
   * The longest time from a kill to a record another worker wrote at the takeover itself (a
   * resumed attempt's `metadata`, or the `end` of a run that was finishing); an adopted queued run
   * writes nothing until it starts, so it does not count here. Null when no such takeover happened.
   */
  maxKillToTakeoverMs: number | null;
  /**
   * The same for kills whose takeover fell due while the broker was restarting: a takeover
   * announces itself on Kafka, so these wait for the broker, not for the lease.
   */
  maxKillToTakeoverAcrossBrokerRestartMs: number | null;
}

export interface TakeoverTiming {
  /** When a takeover is due after a kill (the limit it is held to). */
  dueWithinMs: number;
  /** When the broker was down (the restart), if it was. */
  brokerDown: { from: number; to: number } | null;
}

function killBefore(kills: readonly Kill[], workerId: string, at: number): Kill | undefined {
  return kills.filter((kill) => kill.workerId === workerId && kill.at <= at).at(-1);
}

/**
 * `runAudit` names the previous owner of an attempt whose topic has no record before it (its
 * owner died before writing one): the last run transition before the attempt began.
 */
export function analyseTakeovers(
  summaries: ReadonlyMap<string, RunTopicSummary>,
  runAudit: ReadonlyMap<string, readonly AuditRecord[]>,
  kills: readonly Kill[],
  timing: TakeoverTiming,
): { figures: TakeoverFigures; notes: string[] } {
  const notes: string[] = [];
  const figures: TakeoverFigures = {
    takeovers: 0,
    resumedAttempts: 0,
    takeoversWithoutKill: 0,
    resumedWithoutKill: 0,
    runsTakenOverAfterKills: 0,
    maxKillToTakeoverMs: null,
    maxKillToTakeoverAcrossBrokerRestartMs: null,
  };
  const { brokerDown, dueWithinMs } = timing;
  const dueWhileBrokerDown = (kill: Kill) => brokerDown !== null && kill.at < brokerDown.to && kill.at + dueWithinMs > brokerDown.from;
  // Per kill, how long its runs waited for their takeovers: the slow ones name the kill to look at.
  const waits = new Map<Kill, number[]>();
  for (const [runId, summary] of summaries) {
    const audit = runAudit.get(runId) ?? [];
    const auditWorkers = new Set(audit.map((t) => t.worker_id));
    if (summary.attempts.length > 1 || new Set([...summary.workers, ...auditWorkers]).size > 1) figures.takeovers++;

    for (const [i, attempt] of summary.attempts.entries()) {
      if (i === 0) continue;
      figures.resumedAttempts++;
      const previous =
        attempt.previousWriter ?? audit.filter((t) => Date.parse(t.at) < attempt.at && t.worker_id !== attempt.worker).at(-1)?.worker_id ?? null;
      if (previous === null) {
        notes.push(`Run ${runId}: attempt ${attempt.attempt} (${attempt.worker}) has no earlier writer on its topic or audit trail to judge.`);
      } else if (previous === attempt.worker || !killBefore(kills, previous, attempt.at)) {
        figures.resumedWithoutKill++;
        notes.push(`Run ${runId}: attempt ${attempt.attempt} (${attempt.worker}) resumed it from ${previous}, which was not killed.`);
      }
    }

    // Each run counts once per kill: its first change of hands after the kill of its writer.
    const counted = new Set<Kill>();
    for (const handover of summary.handovers) {
      const kill = killBefore(kills, handover.from, handover.at);
      if (!kill) {
        figures.takeoversWithoutKill++;
        notes.push(`Run ${runId}: ${handover.to} wrote '${handover.event}' after ${handover.from}, which was not killed.`);
        continue;
      }
      if (counted.has(kill)) continue;
      counted.add(kill);
      figures.runsTakenOverAfterKills++;
      if (handover.event !== "metadata" && handover.event !== "end") continue;
      const field = dueWhileBrokerDown(kill) ? "maxKillToTakeoverAcrossBrokerRestartMs" : "maxKillToTakeoverMs";
      figures[field] = Math.max(figures[field] ?? 0, handover.at - kill.at);
      waits.set(kill, [...(waits.get(kill) ?? []), handover.at - kill.at]);
    }
  }
  for (const kill of kills) {
    const ms = (waits.get(kill) ?? []).sort((a, b) => a - b);
    notes.push(
      `Kill of ${kill.workerId}: ${ms.length} runs taken over at once` +
        (ms.length > 0 ? `, after ${ms.join(", ")} ms` : "") +
        (dueWhileBrokerDown(kill) ? " (due while the broker was restarting)." : "."),
    );
  }
  return { figures, notes };
}

/**
 * Watches a runtime's audit log and run events live and records every moment the rule
 * "one active run per thread" (DESIGN.md §2, §6) is broken: a run entering `running` while
 * another run of its thread is `running` or `rolling_back`, or before an earlier run of the
 * thread has both reached its terminal status and written its `end` event.
 */
import type { EmbeddedRuntime } from "../../src/runtime.js";
import { isTerminalRunStatus } from "../../src/protocol/run-status.js";

export interface ExclusivityWatch {
  /** One sentence per broken rule, in the order they happened; empty when the rule held. */
  readonly violations: string[];
  /** Per thread, the runs in the order they entered `running`. */
  readonly startOrder: Map<string, string[]>;
  /** Per thread, the most runs that were active at the same moment. */
  readonly maxActive: Map<string, number>;
  stop(): void;
}

const ACTIVE = new Set(["running", "rolling_back"]);

export function watchThreadExclusivity(runtime: EmbeddedRuntime): ExclusivityWatch {
  const violations: string[] = [];
  const startOrder = new Map<string, string[]>();
  const maxActive = new Map<string, number>();
  const active = new Map<string, Set<string>>();
  const terminal = new Set<string>();
  const ended = new Set<string>();

  const activeOn = (threadId: string): Set<string> => {
    let runs = active.get(threadId);
    if (!runs) active.set(threadId, (runs = new Set()));
    return runs;
  };

  const stopEvents = runtime.adapters.events.onEvent((event) => {
    if (event.name !== "end") return;
    if (ended.has(event.run_id)) violations.push(`Run ${event.run_id} wrote a second end event.`);
    ended.add(event.run_id);
  });

  const stopAudit = runtime.adapters.audit.onTransition((transition) => {
    if (transition.kind !== "run") return;
    const runId = transition.id;
    const threadId = transition.thread_id;
    const runs = activeOn(threadId);
    if (transition.to === "running") {
      for (const other of runs) violations.push(`Run ${runId} entered running while run ${other} was active on thread ${threadId}.`);
      const earlier = startOrder.get(threadId) ?? [];
      for (const previous of earlier) {
        if (!terminal.has(previous)) violations.push(`Run ${runId} entered running before run ${previous} was terminal.`);
        if (!ended.has(previous)) violations.push(`Run ${runId} entered running before run ${previous} wrote its end event.`);
      }
      startOrder.set(threadId, [...earlier, runId]);
    }
    if (ACTIVE.has(transition.to)) runs.add(runId);
    else runs.delete(runId);
    if (isTerminalRunStatus(transition.to)) {
      if (terminal.has(runId)) violations.push(`Run ${runId} reached a terminal status twice.`);
      terminal.add(runId);
    }
    maxActive.set(threadId, Math.max(maxActive.get(threadId) ?? 0, runs.size));
  });

  return {
    violations,
    startOrder,
    maxActive,
    stop: () => {
      stopEvents();
      stopAudit();
    },
  };
}

import type { AnyStateMachine, AnyStateNode } from "xstate";
import { RUN_STATUSES, isTerminalRunStatus, type RunStatus } from "../protocol/run-status.js";
import { runMachine } from "./run.machine.js";

/**
 * Which status changes the run machine allows, and whether a path read back from the audit topic
 * (DESIGN.md §4.4) is one the machine could have taken. Pure: no I/O, derived from the machine.
 */

/** One allowed status change, written `from->to`. */
export type RunTransition = `${RunStatus}->${RunStatus}`;

export type RunPathVerdict = { valid: true } | { valid: false; reason: string };

/** Top-level states of the run machine that are not run statuses: the audit never names them. */
const INTERNAL_STATES: ReadonlySet<string> = new Set(["fenced"]);

export function runTransition(from: RunStatus, to: RunStatus): RunTransition {
  return `${from}->${to}`;
}

function isRunStatus(value: string): value is RunStatus {
  return (RUN_STATUSES as readonly string[]).includes(value);
}

/** The status a state node belongs to (its top-level ancestor), or null for an internal state. */
function statusOf(node: AnyStateNode): RunStatus | null {
  const key = node.path[0];
  if (key === undefined) throw new Error(`State node '${node.id}' is the machine root and has no status.`);
  if (INTERNAL_STATES.has(key)) return null;
  if (!isRunStatus(key)) {
    throw new Error(`State '${key}' of machine '${node.machine.id}' is neither a run status nor an internal state.`);
  }
  return key;
}

function descendantsOf(node: AnyStateNode): AnyStateNode[] {
  return Object.values<AnyStateNode>(node.states).flatMap((child) => [child, ...descendantsOf(child)]);
}

/**
 * Walks every transition of every state node (`on`, `after`, invoke `onDone`/`onError`, `always`)
 * and keeps those that change the top-level status. Guards are not evaluated: a guarded transition
 * is allowed because some run can take it. Moves inside one status (capturing → streaming) and
 * moves into or out of internal states are not status transitions.
 */
export function deriveRunTransitions(machine: AnyStateMachine): ReadonlySet<RunTransition> {
  if (machine.root.transitions.size > 0 || (machine.root.always?.length ?? 0) > 0) {
    throw new Error(`Machine '${machine.id}' has transitions on its root; statuses are read from top-level states only.`);
  }
  const transitions = new Set<RunTransition>();
  for (const node of descendantsOf(machine.root)) {
    const from = statusOf(node);
    const definitions = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
    for (const definition of definitions) {
      for (const target of definition.target ?? []) {
        const to = statusOf(target);
        if (from !== null && to !== null && from !== to) transitions.add(runTransition(from, to));
      }
    }
  }
  return transitions;
}

/** The status every run starts in: the run machine's initial state. */
export const RUN_INITIAL_STATUS: RunStatus = (() => {
  const [initial] = runMachine.root.initial.target;
  const status = initial === undefined ? null : statusOf(initial);
  if (status === null) throw new Error(`Machine '${runMachine.id}' does not start in a run status.`);
  return status;
})();

/** Every status change the run machine can make (DESIGN.md §2), derived from its definition. */
export const RUN_TRANSITIONS: ReadonlySet<RunTransition> = deriveRunTransitions(runMachine);

/**
 * Checks a recorded path: the `to` of a run's audit records in `seq` order. Valid when it starts
 * at the initial status, every step is in RUN_TRANSITIONS and nothing follows a terminal status.
 * A path that stops before a terminal status is valid as a prefix; `isComplete` tells them apart.
 */
export function validateRunPath(statuses: readonly string[]): RunPathVerdict {
  const [first] = statuses;
  if (first === undefined) return { valid: false, reason: `The path is empty; a run path starts at '${RUN_INITIAL_STATUS}'.` };
  if (first !== RUN_INITIAL_STATUS) {
    return { valid: false, reason: `The path starts at '${first}'; a run path starts at '${RUN_INITIAL_STATUS}'.` };
  }
  let previous: RunStatus = RUN_INITIAL_STATUS;
  for (const [index, status] of statuses.entries()) {
    if (index === 0) continue;
    if (!isRunStatus(status)) return { valid: false, reason: `Status '${status}' at position ${index} is not a run status.` };
    if (isTerminalRunStatus(previous)) {
      return {
        valid: false,
        reason: `Status '${status}' at position ${index} follows the terminal status '${previous}'.`,
      };
    }
    if (!RUN_TRANSITIONS.has(runTransition(previous, status))) {
      return {
        valid: false,
        reason: `'${previous}' -> '${status}' at position ${index} is not a transition of the run machine.`,
      };
    }
    previous = status;
  }
  return { valid: true };
}

/** True when the path is valid and ends in a terminal status: the run is over. */
export function isComplete(statuses: readonly string[]): boolean {
  const last = statuses.at(-1);
  return last !== undefined && isTerminalRunStatus(last) && validateRunPath(statuses).valid;
}

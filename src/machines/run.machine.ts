import { assign, fromPromise, setup, type EventObject } from "xstate";
import type { CancelAction } from "../protocol/commands.js";
import type { ErrorEvent } from "../protocol/events.js";
import type { RunStatus, TerminalRunStatus } from "../protocol/run-status.js";

/**
 * The lifecycle of one run (DESIGN.md §2). Pure: the actors it invokes and the `announce`
 * action are placeholders here; the run actor provides the real ones with `machine.provide`.
 */

export interface RunMachineInput {
  runId: string;
  threadId: string;
  /** Deadline for the running state, from the command's timeout_ms. */
  timeoutMs?: number | null;
  /** Deadline for restoring the pre-run checkpoint; a hung restore must not leave the run non-terminal. */
  restoreTimeoutMs?: number;
}

/** What capturing the pre-run checkpoint produced; opaque to the machine, passed to restore. */
export type PreRunCapture = unknown;

export interface StreamOutput {
  interrupts: unknown[];
}

export interface RunMachineContext {
  runId: string;
  threadId: string;
  timeoutMs: number | null;
  restoreTimeoutMs: number;
  status: RunStatus | null;
  capture: PreRunCapture | null;
  error: ErrorEvent | null;
  interrupts: unknown[];
  fenced: boolean;
}

export type RunMachineEvent =
  | { type: "START" }
  | { type: "CANCEL"; action: CancelAction }
  | { type: "LEASE_LOST" }
  /** A worker took the run over after its worker died, with RUNBUS_ON_WORKER_LOSS=fail. */
  | { type: "WORKER_LOST" };

export interface RunMachineOutput {
  /** "fenced" when this worker lost the run's lease and another worker finishes it. */
  status: TerminalRunStatus | "fenced";
  error: ErrorEvent | null;
  interrupts: unknown[];
}

export const ROLLED_BACK: ErrorEvent = { name: "RunRolledBack", message: "Rolled back by user" };
export const WORKER_LOST: ErrorEvent = {
  name: "WorkerLost",
  message: "The worker executing this run stopped before it ended; RUNBUS_ON_WORKER_LOSS=fail ends such runs.",
};

/** setTimeout's ceiling; a run without timeout_ms never reaches it within the guard below. */
const NO_DEADLINE_MS = 2_147_483_647;
const DEFAULT_RESTORE_TIMEOUT_MS = 120_000;

function notProvided(name: string) {
  return async (): Promise<never> => {
    throw new Error(`Actor '${name}' is not provided; the run actor supplies it with machine.provide().`);
  };
}

function errorFromUnknown(error: unknown): ErrorEvent {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

/** Why a transition happened, from the event that caused it; the audit topic records it. */
export function causeOf(event: EventObject): string {
  switch (event.type) {
    case "xstate.init":
      return "accepted";
    case "START":
      return "admitted";
    case "CANCEL":
      return `cancel_${(event as EventObject & { action?: CancelAction }).action}`;
    case "LEASE_LOST":
      return "lease_lost";
    case "WORKER_LOST":
      return "worker_lost";
    case "xstate.done.actor.capture":
      return "captured";
    case "xstate.error.actor.capture":
      return "capture_failed";
    case "xstate.done.actor.stream":
      return "graph_completed";
    case "xstate.error.actor.stream":
      return "graph_failed";
    case "xstate.done.actor.restore":
      return "restore_done";
    case "xstate.error.actor.restore":
      return "restore_failed";
    default:
      return event.type.startsWith("xstate.after.") ? "deadline_passed" : event.type;
  }
}

export const runMachine = setup({
  types: {
    context: {} as RunMachineContext,
    events: {} as RunMachineEvent,
    input: {} as RunMachineInput,
    output: {} as RunMachineOutput,
  },
  actors: {
    capturePreRun: fromPromise<PreRunCapture, { runId: string; threadId: string }>(notProvided("capturePreRun")),
    streamGraph: fromPromise<StreamOutput, { runId: string; threadId: string }>(notProvided("streamGraph")),
    restorePreRun: fromPromise<void, { runId: string; threadId: string; capture: PreRunCapture | null }>(
      notProvided("restorePreRun"),
    ),
  },
  actions: {
    /** Publishes the transition into `to` (audit record, run record). Provided by the run actor. */
    announce: (_, _params: { to: RunStatus }) => {},
    enter: assign((_, params: { to: RunStatus }) => ({ status: params.to })),
  },
  guards: {
    isRollback: ({ event }) => event.type === "CANCEL" && event.action === "rollback",
    hasDeadline: ({ context }) => context.timeoutMs !== null,
  },
  delays: {
    runDeadline: ({ context }) => context.timeoutMs ?? NO_DEADLINE_MS,
    restoreDeadline: ({ context }) => context.restoreTimeoutMs,
  },
}).createMachine({
  id: "run",
  context: ({ input }) => ({
    runId: input.runId,
    threadId: input.threadId,
    timeoutMs: input.timeoutMs ?? null,
    restoreTimeoutMs: input.restoreTimeoutMs ?? DEFAULT_RESTORE_TIMEOUT_MS,
    status: null,
    capture: null,
    error: null,
    interrupts: [],
    fenced: false,
  }),
  initial: "pending",
  states: {
    pending: {
      entry: [{ type: "announce", params: { to: "pending" } }, { type: "enter", params: { to: "pending" } }],
      on: {
        START: "running",
        CANCEL: [
          { guard: "isRollback", target: "error", actions: assign({ error: ROLLED_BACK }) },
          { target: "interrupted" },
        ],
      },
    },
    running: {
      entry: [{ type: "announce", params: { to: "running" } }, { type: "enter", params: { to: "running" } }],
      initial: "capturing",
      states: {
        capturing: {
          invoke: {
            id: "capture",
            src: "capturePreRun",
            input: ({ context }) => ({ runId: context.runId, threadId: context.threadId }),
            onDone: { target: "streaming", actions: assign({ capture: ({ event }) => event.output }) },
            // A capture failure disables rollback for this run; the run itself goes on.
            onError: { target: "streaming", actions: assign({ capture: null }) },
          },
        },
        streaming: {
          invoke: {
            id: "stream",
            src: "streamGraph",
            input: ({ context }) => ({ runId: context.runId, threadId: context.threadId }),
            onDone: {
              target: "#run.success",
              actions: assign({ interrupts: ({ event }) => event.output.interrupts }),
            },
            onError: {
              target: "#run.error",
              actions: assign({ error: ({ event }) => errorFromUnknown(event.error) }),
            },
          },
        },
      },
      after: {
        runDeadline: {
          guard: "hasDeadline",
          target: "timeout",
          actions: assign({
            error: ({ context }) => ({ name: "RunTimeout", message: `Run exceeded its timeout of ${context.timeoutMs} ms.` }),
          }),
        },
      },
      on: {
        CANCEL: [{ guard: "isRollback", target: "rolling_back" }, { target: "interrupted" }],
        // Another worker owns the run now (DESIGN.md §7): stop here without claiming an outcome.
        LEASE_LOST: { target: "fenced", actions: assign({ fenced: true }) },
        WORKER_LOST: { target: "error", actions: assign({ error: WORKER_LOST }) },
      },
    },
    rolling_back: {
      entry: [{ type: "announce", params: { to: "rolling_back" } }, { type: "enter", params: { to: "rolling_back" } }],
      invoke: {
        id: "restore",
        src: "restorePreRun",
        input: ({ context }) => ({ runId: context.runId, threadId: context.threadId, capture: context.capture }),
        onDone: { target: "error", actions: assign({ error: ROLLED_BACK }) },
        onError: {
          target: "error",
          actions: assign({
            error: ({ event }) => ({
              name: "RollbackFailed",
              message: `Rolled back by user, but restoring the pre-run checkpoint failed: ${errorFromUnknown(event.error).message}`,
            }),
          }),
        },
      },
      after: {
        restoreDeadline: {
          target: "error",
          actions: assign({
            error: ({ context }) => ({
              name: "RollbackFailed",
              message: `Rolled back by user, but restoring the pre-run checkpoint failed: it did not finish within ${context.restoreTimeoutMs} ms.`,
            }),
          }),
        },
      },
      on: {
        LEASE_LOST: { target: "fenced", actions: assign({ fenced: true }) },
        WORKER_LOST: { target: "error", actions: assign({ error: WORKER_LOST }) },
      },
    },
    success: {
      type: "final",
      entry: [{ type: "announce", params: { to: "success" } }, { type: "enter", params: { to: "success" } }],
    },
    interrupted: {
      type: "final",
      entry: [{ type: "announce", params: { to: "interrupted" } }, { type: "enter", params: { to: "interrupted" } }],
    },
    error: {
      type: "final",
      entry: [{ type: "announce", params: { to: "error" } }, { type: "enter", params: { to: "error" } }],
    },
    timeout: {
      type: "final",
      entry: [{ type: "announce", params: { to: "timeout" } }, { type: "enter", params: { to: "timeout" } }],
    },
    /** Not a run status: this worker stopped hosting the run; the lease holder finishes it. */
    fenced: { type: "final" },
  },
  output: ({ context }) => ({
    status: context.fenced ? "fenced" : (context.status as TerminalRunStatus),
    error: context.error,
    interrupts: context.interrupts,
  }),
});

export type RunMachine = typeof runMachine;

import { assign, setup } from "xstate";
import type { RunStatus, ThreadStatus } from "../protocol/run-status.js";

/**
 * A thread's status (DESIGN.md §2): busy while it holds an active run, then idle, interrupted or
 * error by how the run ended. Pure; the thread-store actor applies it with `transition()`.
 */

export type ThreadOutcome = Exclude<ThreadStatus, "busy">;

export type ThreadMachineEvent =
  | { type: "CLAIM"; runId: string }
  | { type: "RELEASE"; runId: string; outcome: ThreadOutcome };

export interface ThreadMachineContext {
  threadId: string;
  activeRunId: string | null;
}

export const threadMachine = setup({
  types: {
    context: {} as ThreadMachineContext,
    events: {} as ThreadMachineEvent,
    input: {} as { threadId: string },
  },
  actions: {
    takeSlot: assign({ activeRunId: ({ event }) => (event.type === "CLAIM" ? event.runId : null) }),
    freeSlot: assign({ activeRunId: null }),
  },
  guards: {
    holder: ({ context, event }) => event.type === "RELEASE" && event.runId === context.activeRunId,
    holderEndedInError: ({ context, event }) =>
      event.type === "RELEASE" && event.runId === context.activeRunId && event.outcome === "error",
    holderEndedInterrupted: ({ context, event }) =>
      event.type === "RELEASE" && event.runId === context.activeRunId && event.outcome === "interrupted",
  },
}).createMachine({
  id: "thread",
  context: ({ input }) => ({ threadId: input.threadId, activeRunId: null }),
  initial: "idle",
  states: {
    idle: { on: { CLAIM: { target: "busy", actions: "takeSlot" } } },
    interrupted: { on: { CLAIM: { target: "busy", actions: "takeSlot" } } },
    error: { on: { CLAIM: { target: "busy", actions: "takeSlot" } } },
    busy: {
      on: {
        // Only the run holding the slot can free it; any other RELEASE is ignored.
        RELEASE: [
          { guard: "holderEndedInError", target: "error", actions: "freeSlot" },
          { guard: "holderEndedInterrupted", target: "interrupted", actions: "freeSlot" },
          { guard: "holder", target: "idle", actions: "freeSlot" },
        ],
      },
    },
  },
});

/** The thread's status after its run ended: DESIGN.md §2. */
export function threadOutcome(runStatus: RunStatus, latestCheckpointHasNext: boolean): ThreadOutcome {
  if (runStatus === "error" || runStatus === "timeout") return "error";
  if (runStatus === "interrupted" || latestCheckpointHasNext) return "interrupted";
  return "idle";
}

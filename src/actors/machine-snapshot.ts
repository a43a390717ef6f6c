import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { createActor, type StateValue } from "xstate";
import { runMachine } from "../machines/run.machine.js";
import type { Transition } from "../protocol/audit.js";
import type { RunStatus } from "../protocol/run-status.js";
import type { RunRecord } from "../ports.js";

/**
 * A run machine's persisted snapshot as the run record keeps it, so another worker can take the
 * run over where it stood. The pre-run capture holds LangChain objects, so it goes through the
 * saver's own serializer; the rest is plain JSON, kept as a string so any store takes it as is.
 */
interface StoredMachine {
  snapshot: { context?: { capture?: unknown } } & Record<string, unknown>;
  capture: { type: string; data: string } | null;
  /** The transitions that led to this snapshot, stored with it before they are published. */
  transitions?: Transition[];
}

export async function storeMachineSnapshot(persisted: unknown, saver: BaseCheckpointSaver | undefined, transitions: Transition[] = []): Promise<string> {
  const snapshot = structuredClone(persisted) as StoredMachine["snapshot"];
  const capture = snapshot.context?.capture ?? null;
  let stored: StoredMachine["capture"] = null;
  if (capture !== null && saver) {
    const [type, bytes] = await saver.serde.dumpsTyped(capture);
    stored = { type, data: Buffer.from(bytes).toString("base64") };
  }
  if (snapshot.context) snapshot.context.capture = null;
  return JSON.stringify({ snapshot, capture: stored, transitions } satisfies StoredMachine);
}

/** A stored snapshot's JSON, or null when there is none or it cannot be read. */
function readStored(stored: string | null): StoredMachine | null {
  if (!stored) return null;
  try {
    return JSON.parse(stored) as StoredMachine;
  } catch {
    return null;
  }
}

/**
 * The transitions stored with a snapshot: its worker may have died before publishing them, so the
 * worker that takes the run over publishes them again, as they were (same `ce_id`).
 */
export function storedTransitions(stored: string | null): Transition[] {
  return readStored(stored)?.transitions ?? [];
}

/** The run's status in a stored snapshot: where the machine stood when it was last stored. */
export function storedStatus(stored: string | null): RunStatus | null {
  const context = readStored(stored)?.snapshot?.context as { status?: RunStatus | null } | undefined;
  return context?.status ?? null;
}

export async function loadMachineSnapshot(
  stored: string,
  saver: BaseCheckpointSaver | undefined,
  options: { withoutChildren?: boolean } = {},
): Promise<unknown> {
  const { snapshot, capture } = JSON.parse(stored) as StoredMachine;
  if (snapshot.context && capture && saver) {
    snapshot.context.capture = await saver.serde.loadsTyped(capture.type, Buffer.from(capture.data, "base64"));
  }
  // Without its children a restored machine invokes nothing: it only takes the next event.
  if (options.withoutChildren) snapshot.children = {};
  return snapshot;
}

/**
 * A stored snapshot for a run whose record has none (its worker died before storing one): the
 * machine in the run's recorded state, to be ended with WORKER_LOST.
 */
export function fallbackMachineSnapshot(record: { run_id: string; thread_id: string; status: string }): string {
  const value = record.status === "rolling_back" ? "rolling_back" : record.status === "pending" ? "pending" : { running: "streaming" };
  return JSON.stringify({ snapshot: persistedAt(record, value, null), capture: null });
}

/**
 * The snapshot a new run is inserted with: its machine in `pending`, as it stands once started,
 * with the `pending` transition (`admitted`) it publishes after the insert.
 */
export function admittedMachineSnapshot(record: Pick<RunRecord, "run_id" | "thread_id" | "request">, admitted: Transition): string {
  const snapshot = persistedAt({ ...record, status: "pending" }, "pending", record.request.timeout_ms ?? null);
  return JSON.stringify({ snapshot, capture: null, transitions: [admitted] } satisfies StoredMachine);
}

function persistedAt(record: { run_id: string; thread_id: string; status: string }, value: StateValue, timeoutMs: number | null): StoredMachine["snapshot"] {
  const resolved = runMachine.resolveState({
    value,
    context: {
      runId: record.run_id,
      threadId: record.thread_id,
      timeoutMs,
      restoreTimeoutMs: 120_000,
      status: record.status as RunStatus,
      capture: null,
      error: null,
      interrupts: [],
      fenced: false,
    },
  });
  return createActor(runMachine, { snapshot: resolved, input: { runId: record.run_id, threadId: record.thread_id } }).getPersistedSnapshot() as StoredMachine["snapshot"];
}

/**
 * The audit seq a run's next transition gets after `transitions`, the ones stored last: one past
 * the last of them. Seqs go on across attempts, so no two transitions of a run share a
 * `(worker_id, seq)`, whichever worker records them.
 */
export function nextAuditSeq(transitions: readonly Transition[]): number {
  return transitions.reduce((next, transition) => Math.max(next, transition.seq + 1), 0);
}

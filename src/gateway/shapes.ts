import type { RunRecord, ThreadRecord } from "../ports.js";
import { toJson, type JsonValue } from "../graph/serialize.js";
import { assistantIdOf } from "./assistants.js";

/**
 * runbus's records in the shapes of the LangGraph Agent Server API (the SDK's `Thread`, `Run` and
 * `ThreadState`). Values go through the same JSON conversion as stream chunks, so messages read
 * as `{type, content, ...}` everywhere.
 */

export interface ApiThread {
  thread_id: string;
  created_at: string;
  updated_at: string;
  state_updated_at: string;
  metadata: Record<string, unknown>;
  status: ThreadRecord["status"];
  values: JsonValue;
  interrupts: Record<string, JsonValue[]>;
}

export interface ThreadValues {
  values: JsonValue;
  interrupts: Record<string, JsonValue[]>;
}

export function toApiThread(thread: ThreadRecord, state: ThreadValues = { values: null, interrupts: {} }): ApiThread {
  return {
    thread_id: thread.thread_id,
    created_at: thread.created_at.toISOString(),
    updated_at: thread.updated_at.toISOString(),
    state_updated_at: thread.updated_at.toISOString(),
    metadata: thread.metadata,
    status: thread.status,
    values: state.values,
    interrupts: state.interrupts,
  };
}

/** The API has no `rolling_back`: a run restoring its thread is still running until it ends. */
export function apiRunStatus(status: RunRecord["status"]): Exclude<RunRecord["status"], "rolling_back"> {
  return status === "rolling_back" ? "running" : status;
}

export function toApiRun(run: RunRecord) {
  const { request } = run;
  return {
    run_id: run.run_id,
    thread_id: run.thread_id,
    assistant_id: assistantIdOf(run.graph_id),
    created_at: run.created_at.toISOString(),
    updated_at: (run.ended_at ?? run.started_at ?? run.created_at).toISOString(),
    status: apiRunStatus(run.status),
    metadata: request.metadata ?? {},
    multitask_strategy: request.multitask_strategy ?? "reject",
    kwargs: {
      input: request.input ?? null,
      command: request.command ?? null,
      config: request.config ?? {},
      context: request.context ?? {},
      stream_mode: request.stream_mode ?? ["values"],
      interrupt_before: request.interrupt_before ?? null,
      interrupt_after: request.interrupt_after ?? null,
      subgraphs: request.stream_subgraphs ?? false,
      resumable: true,
    },
  };
}

/** A checkpoint's config as the API's `Checkpoint`. */
export interface ApiCheckpoint {
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string | null;
  checkpoint_map: Record<string, unknown> | null;
}

interface SnapshotLike {
  values: unknown;
  next: readonly string[];
  tasks: ReadonlyArray<{ id: string; name: string; error?: unknown; interrupts?: readonly unknown[]; path?: unknown; state?: unknown; result?: unknown }>;
  metadata?: unknown;
  createdAt?: string;
  config?: { configurable?: Record<string, unknown> };
  parentConfig?: { configurable?: Record<string, unknown> };
}

function toCheckpoint(config: SnapshotLike["config"]): ApiCheckpoint | null {
  const configurable = config?.configurable;
  if (!configurable || typeof configurable.thread_id !== "string") return null;
  return {
    thread_id: configurable.thread_id,
    checkpoint_ns: typeof configurable.checkpoint_ns === "string" ? configurable.checkpoint_ns : "",
    checkpoint_id: typeof configurable.checkpoint_id === "string" ? configurable.checkpoint_id : null,
    checkpoint_map: (configurable.checkpoint_map as Record<string, unknown> | undefined) ?? null,
  };
}

function isSnapshot(value: unknown): value is SnapshotLike {
  return typeof value === "object" && value !== null && "values" in value && "next" in value;
}

export interface ApiThreadState {
  values: JsonValue;
  next: string[];
  tasks: Array<{
    id: string;
    name: string;
    error: string | null;
    interrupts: JsonValue;
    path: JsonValue;
    checkpoint: JsonValue;
    state: ApiThreadState | null;
    result: JsonValue;
  }>;
  metadata: JsonValue;
  created_at: string | null;
  checkpoint: ApiCheckpoint | null;
  parent_checkpoint: ApiCheckpoint | null;
}

/** LangGraph's StateSnapshot as the API's `ThreadState`. */
export function toThreadState(snapshot: SnapshotLike): ApiThreadState {
  return {
    values: toJson(snapshot.values ?? {}),
    next: [...snapshot.next],
    tasks: snapshot.tasks.map((task) => ({
      id: task.id,
      name: task.name,
      error: task.error == null ? null : task.error instanceof Error ? task.error.message : String(task.error),
      interrupts: toJson(task.interrupts ?? []),
      path: toJson(task.path ?? null),
      checkpoint: !isSnapshot(task.state) && task.state && typeof task.state === "object" ? toJson((task.state as SnapshotLike["config"])?.configurable ?? null) : null,
      state: isSnapshot(task.state) ? toThreadState(task.state) : null,
      result: toJson(task.result ?? null),
    })),
    metadata: toJson(snapshot.metadata ?? {}),
    created_at: snapshot.createdAt ?? null,
    checkpoint: toCheckpoint(snapshot.config),
    parent_checkpoint: toCheckpoint(snapshot.parentConfig),
  };
}

/** A thread's pending interrupts by task id, as `Thread.interrupts`. */
export function interruptsOf(snapshot: SnapshotLike): Record<string, JsonValue[]> {
  const interrupts: Record<string, JsonValue[]> = {};
  for (const task of snapshot.tasks) {
    if (task.interrupts?.length) interrupts[task.id] = task.interrupts.map((i) => toJson(i));
  }
  return interrupts;
}

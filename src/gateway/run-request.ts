import { randomUUID } from "node:crypto";
import type { RunCreateInput } from "../client/client.js";
import type { Assistants } from "./assistants.js";
import { HttpError } from "./http-error.js";
import type { RunCreateBody } from "./schemas.js";

/** A run request of the API as runbus's `run.create`; an option runbus cannot honour is a 422 naming it. */
export function toRunCreate(body: RunCreateBody, threadId: string, assistants: Assistants, stateless: boolean): RunCreateInput & { run_id: string } {
  refuseUnsupported(body);
  const assistant = assistants.find(body.assistant_id);
  if (!assistant) throw new HttpError(404, `Assistant ${body.assistant_id} not found.`, "unknown_graph");
  const checkpointId = body.checkpoint_id ?? body.checkpoint?.checkpoint_id ?? undefined;
  const command = body.command
    ? {
        ...(body.command.resume !== undefined ? { resume: body.command.resume } : {}),
        ...(body.command.goto != null ? { goto: body.command.goto } : {}),
        ...(body.command.update != null ? { update: body.command.update } : {}),
      }
    : undefined;
  return {
    run_id: randomUUID(),
    thread_id: threadId,
    graph_id: assistant.graph_id,
    ...(body.input != null ? { input: body.input } : {}),
    ...(command ? { command } : {}),
    ...(body.config ? { config: body.config } : {}),
    ...(body.context ? { context: body.context } : {}),
    ...(body.metadata ? { metadata: body.metadata } : {}),
    stream_mode: streamModesOf(body),
    ...(body.stream_subgraphs !== undefined ? { stream_subgraphs: body.stream_subgraphs } : {}),
    ...(body.interrupt_before !== undefined ? { interrupt_before: body.interrupt_before } : {}),
    ...(body.interrupt_after !== undefined ? { interrupt_after: body.interrupt_after } : {}),
    ...(checkpointId ? { checkpoint_id: checkpointId } : {}),
    multitask_strategy: body.multitask_strategy ?? "reject",
    // The API answers a run on a missing thread with 404 unless told to create it; a stateless run's thread is new.
    if_not_exists: stateless ? "create" : (body.if_not_exists ?? "reject"),
    ...(body.after_seconds !== undefined ? { after_seconds: body.after_seconds } : {}),
    ...(body.durability === "sync" || body.durability === "async" ? { durability: body.durability } : body.checkpoint_during === true ? { durability: "async" as const } : {}),
  };
}

export function streamModesOf(body: Pick<RunCreateBody, "stream_mode">): string[] {
  const modes = body.stream_mode === undefined ? [] : Array.isArray(body.stream_mode) ? body.stream_mode : [body.stream_mode];
  return modes.length ? modes : ["values"];
}

function refuseUnsupported(body: RunCreateBody): void {
  if (body.webhook !== undefined) {
    throw new HttpError(422, "webhook is not supported: runbus publishes every run's events to Kafka; consume the run's topic instead.", "invalid_request");
  }
  if (body.feedback_keys !== undefined) throw new HttpError(422, "feedback_keys is not supported: runbus does not report to LangSmith.", "invalid_request");
  if (body.durability === "exit" || body.checkpoint_during === false) {
    throw new HttpError(
      422,
      `${body.durability === "exit" ? 'durability "exit"' : "checkpoint_during false"} is not supported: runbus checkpoints every step so that another worker can resume the run.`,
      "invalid_request",
    );
  }
}

import { z } from "zod";
import { HttpError } from "./http-error.js";
import { MULTITASK_STRATEGIES } from "../protocol/commands.js";
import { idSchema } from "../protocol/ids.js";
import { THREAD_STATUSES } from "../protocol/run-status.js";

/**
 * Request bodies of the LangGraph Agent Server API, as the SDKs send them. These are the API's
 * shapes, not runbus's commands: `routes/run-request.ts` maps a run request onto `run.create`.
 * Keys the SDKs send as null mean "not given".
 */

const jsonObject = z.record(z.string(), z.unknown());
const interruptNodes = z.union([z.literal("*"), z.array(z.string())]);
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);

export const threadIdSchema = idSchema;

export const runCreateBody = z.object({
  assistant_id: z.string().min(1).max(256),
  input: z.unknown().optional(),
  command: optional(
    z
      .object({
        resume: z.unknown().optional(),
        goto: z.union([z.string(), z.array(z.string())]).nullish(),
        update: z.union([jsonObject, z.array(z.tuple([z.string(), z.unknown()]))]).nullish(),
      })
      .strict(),
  ),
  config: optional(jsonObject),
  context: optional(jsonObject),
  metadata: optional(jsonObject),
  stream_mode: optional(z.union([z.string(), z.array(z.string()).max(16)])),
  stream_subgraphs: optional(z.boolean()),
  stream_resumable: optional(z.boolean()),
  interrupt_before: optional(interruptNodes),
  interrupt_after: optional(interruptNodes),
  checkpoint: optional(z.object({ checkpoint_id: z.string().nullish() }).loose()),
  checkpoint_id: optional(z.string().min(1).max(128)),
  multitask_strategy: optional(z.enum(MULTITASK_STRATEGIES)),
  if_not_exists: optional(z.enum(["create", "reject"])),
  after_seconds: optional(z.number().nonnegative().max(7 * 24 * 3600)),
  on_disconnect: optional(z.enum(["cancel", "continue"])),
  on_completion: optional(z.enum(["delete", "keep"])),
  durability: optional(z.enum(["sync", "async", "exit"])),
  checkpoint_during: optional(z.boolean()),
  webhook: optional(z.string()),
  feedback_keys: optional(z.union([z.string(), z.array(z.string())])),
  strict_resume: optional(z.boolean()),
  langsmith_tracer: z.unknown().optional(),
});
export type RunCreateBody = z.infer<typeof runCreateBody>;

export const threadCreateBody = z.object({
  thread_id: optional(idSchema),
  metadata: optional(jsonObject),
  if_exists: optional(z.enum(["raise", "do_nothing"])),
  supersteps: optional(z.array(z.unknown()).max(0, "supersteps are not supported: create the thread, then run it.")),
  ttl: z.unknown().optional(),
});

export const threadPatchBody = z.object({ metadata: jsonObject });

const threadStatus = z.enum(THREAD_STATUSES);

export const threadSearchBody = z.object({
  metadata: optional(jsonObject),
  ids: optional(z.array(z.string()).max(1000)),
  status: optional(threadStatus),
  values: optional(jsonObject),
  limit: optional(z.number().int().min(1).max(1000)),
  offset: optional(z.number().int().min(0)),
  sort_by: optional(z.enum(["thread_id", "status", "created_at", "updated_at", "state_updated_at"])),
  sort_order: optional(z.enum(["asc", "desc"])),
  select: optional(z.array(z.string())),
  extract: z.unknown().optional(),
});
export type ThreadSearchBody = z.infer<typeof threadSearchBody>;

export const threadCountBody = z.object({
  metadata: optional(jsonObject),
  status: optional(threadStatus),
  values: optional(jsonObject),
});

export const updateStateBody = z.object({
  values: z.unknown(),
  as_node: optional(z.string().min(1).max(256)),
  checkpoint_id: optional(z.string().min(1).max(128)),
  checkpoint: optional(z.object({ checkpoint_id: z.string().nullish() }).loose()),
});

export const stateCheckpointBody = z.object({
  checkpoint: optional(z.object({ checkpoint_id: z.string().nullish() }).loose()),
  subgraphs: optional(z.boolean()),
});

export const historyBody = z.object({
  limit: optional(z.number().int().min(1).max(1000)),
  before: optional(z.union([z.string(), z.object({ configurable: jsonObject.optional() }).loose()])),
  metadata: optional(jsonObject),
  checkpoint: optional(z.object({ checkpoint_id: z.string().nullish(), checkpoint_ns: z.string().nullish() }).loose()),
  select: optional(z.array(z.string())),
});

export const assistantSearchBody = z.object({
  graph_id: optional(z.string()),
  name: optional(z.string()),
  metadata: optional(jsonObject),
  limit: optional(z.number().int().min(1).max(1000)),
  offset: optional(z.number().int().min(0)),
  sort_by: z.unknown().optional(),
  sort_order: z.unknown().optional(),
  select: optional(z.array(z.string())),
});

export const cancelManyBody = z.object({
  thread_id: optional(idSchema),
  run_ids: optional(z.array(idSchema).max(1000)),
  status: optional(z.enum(["pending", "running", "all"])),
});

export const cancelQuery = z.object({
  wait: optional(z.enum(["0", "1", "true", "false"])).transform((value) => value === "1" || value === "true"),
  action: optional(z.enum(["interrupt", "rollback"])).transform((value) => value ?? "interrupt"),
});

/** Parses `value` with `schema`, or throws the 422 a client of the API expects, naming each bad field. */
export function parseRequest<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`).join("; ");
  throw new HttpError(422, `Invalid ${what}: ${issues}.`, "invalid_request");
}

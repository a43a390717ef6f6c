import { z } from "zod";
import { idSchema } from "./ids.js";

const jsonObject = z.record(z.string(), z.unknown());
const interruptNodes = z.union([z.literal("*"), z.array(z.string())]);

export const MULTITASK_STRATEGIES = ["reject", "interrupt", "rollback", "enqueue"] as const;
export type MultitaskStrategy = (typeof MULTITASK_STRATEGIES)[number];
export const CANCEL_ACTIONS = ["interrupt", "rollback"] as const;
export type CancelAction = (typeof CANCEL_ACTIONS)[number];

const base = { command_id: z.string().min(1).max(128).optional() };

/**
 * The identity a thread or run belongs to, set by an authenticating gateway from its caller's
 * credentials (never from a request body). On the bare Kafka path it is only recorded: topic ACLs
 * are the boundary there.
 */
export const ownerSchema = z.string().min(1).max(256);

export const runCreateSchema = z
  .object({
    ...base,
    type: z.literal("run.create"),
    run_id: idSchema.optional(),
    thread_id: idSchema,
    graph_id: z.string().min(1).max(256).optional(),
    input: z.unknown().optional(),
    command: z
      .object({
        resume: z.unknown().optional(),
        goto: z.union([z.string(), z.array(z.string())]).optional(),
        update: z.union([jsonObject, z.array(z.tuple([z.string(), z.unknown()]))]).optional(),
      })
      .strict()
      .optional(),
    config: jsonObject.optional(),
    context: jsonObject.optional(),
    metadata: jsonObject.optional(),
    stream_mode: z.array(z.string()).max(16).optional(),
    stream_subgraphs: z.boolean().optional(),
    interrupt_before: interruptNodes.optional(),
    interrupt_after: interruptNodes.optional(),
    checkpoint_id: z.string().min(1).max(128).optional(),
    multitask_strategy: z.enum(MULTITASK_STRATEGIES).optional(),
    if_not_exists: z.enum(["create", "reject"]).optional(),
    // "exit" is not offered: a run must checkpoint every step for another worker to resume it.
    durability: z.enum(["sync", "async"]).optional(),
    timeout_ms: z.number().int().positive().max(7 * 24 * 3600 * 1000).optional(),
    after_seconds: z.number().nonnegative().max(7 * 24 * 3600).optional(),
    owner: ownerSchema.optional(),
  })
  .strict();

export const runCancelSchema = z
  .object({
    ...base,
    type: z.literal("run.cancel"),
    run_id: idSchema,
    thread_id: idSchema,
    action: z.enum(CANCEL_ACTIONS).default("interrupt"),
  })
  .strict();

export const runDeleteSchema = z
  .object({ ...base, type: z.literal("run.delete"), run_id: idSchema, thread_id: idSchema })
  .strict();

export const threadCreateSchema = z
  .object({
    ...base,
    type: z.literal("thread.create"),
    thread_id: idSchema,
    metadata: jsonObject.optional(),
    if_exists: z.enum(["raise", "do_nothing"]).optional(),
    owner: ownerSchema.optional(),
  })
  .strict();

export const threadUpdateSchema = z
  .object({ ...base, type: z.literal("thread.update"), thread_id: idSchema, metadata: jsonObject })
  .strict();

export const threadDeleteSchema = z
  .object({ ...base, type: z.literal("thread.delete"), thread_id: idSchema, force: z.boolean().optional() })
  .strict();

export const threadUpdateStateSchema = z
  .object({
    ...base,
    type: z.literal("thread.update_state"),
    thread_id: idSchema,
    graph_id: z.string().min(1).max(256),
    values: z.unknown(),
    as_node: z.string().min(1).max(256).optional(),
    checkpoint_id: z.string().min(1).max(128).optional(),
  })
  .strict();

export const threadCopySchema = z
  .object({ ...base, type: z.literal("thread.copy"), thread_id: idSchema, new_thread_id: idSchema, owner: ownerSchema.optional() })
  .strict();

export const commandSchema = z.discriminatedUnion("type", [
  runCreateSchema,
  runCancelSchema,
  runDeleteSchema,
  threadCreateSchema,
  threadUpdateSchema,
  threadDeleteSchema,
  threadUpdateStateSchema,
  threadCopySchema,
]);

export type RunCreateCommand = z.infer<typeof runCreateSchema>;
export type RunCancelCommand = z.infer<typeof runCancelSchema>;
export type RunDeleteCommand = z.infer<typeof runDeleteSchema>;
export type ThreadCreateCommand = z.infer<typeof threadCreateSchema>;
export type ThreadUpdateCommand = z.infer<typeof threadUpdateSchema>;
export type ThreadDeleteCommand = z.infer<typeof threadDeleteSchema>;
export type ThreadUpdateStateCommand = z.infer<typeof threadUpdateStateSchema>;
export type ThreadCopyCommand = z.infer<typeof threadCopySchema>;
export type Command = z.infer<typeof commandSchema>;
export type CommandType = Command["type"];
export type CommandInput = z.input<typeof commandSchema>;

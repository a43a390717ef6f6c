import { z } from "zod";
import type { ErrorCode } from "../errors.js";
import { transitionSchema } from "./audit.js";
import {
  runCancelSchema,
  runCreateSchema,
  runDeleteSchema,
  threadCopySchema,
  threadCreateSchema,
  threadDeleteSchema,
  threadUpdateSchema,
  threadUpdateStateSchema,
} from "./commands.js";
import { endEventSchema, errorEventSchema, metadataEventSchema } from "./events.js";
import { replySchema } from "./replies.js";

/** A JSON Schema (or one of its subschemas) as plain JSON. */
export type JsonSchema = { [keyword: string]: unknown };

export type ProtocolMessageKind = "command" | "event" | "audit" | "reply";

/** One message of the wire protocol (DESIGN.md §4) and what its docs say about it. */
export interface ProtocolMessage {
  /** Names the schema file (`docs/schemas/<name>.schema.json`) and the AsyncAPI message. */
  name: string;
  kind: ProtocolMessageKind;
  /** The record's `ce_type` header; `<mode>` stands for the chunk's stream mode. */
  ceType: string;
  title: string;
  description: string;
  /** Null for run chunks: their value is whatever JSON the graph streamed. */
  schema: z.ZodType | null;
  /** A description per field; a nested field is written `parent.child`. */
  fields: Readonly<Record<string, string>>;
}

/** The `code` values a reply or a dead letter can carry. */
export const WIRE_ERROR_CODES = [
  "invalid_json",
  "invalid_command",
  "command_too_large",
  "json_too_deep",
  "unknown_graph",
  "unsupported_stream_mode",
  "thread_busy",
  "thread_not_found",
  "thread_exists",
  "run_not_found",
  "run_exists",
  "run_active",
  "no_pending_interrupt",
  "invalid_state",
] as const satisfies readonly ErrorCode[];

const commandId = "Your correlation id, echoed in the reply and its `runbus_command_id` header.";

const jsonObject = "A JSON object.";

const ownerNote =
  "An authenticating gateway sets it from its caller's identity, never from a request body. On Kafka it is recorded and checked against the thread's owner, but a producer may leave it out: topic ACLs are the boundary there.";

export const PROTOCOL_MESSAGES: readonly ProtocolMessage[] = [
  {
    name: "run.create",
    kind: "command",
    ceType: "runbus.command.run.create",
    title: "run.create command",
    description: "Starts a run of a graph on a thread, or queues or schedules it.",
    schema: runCreateSchema,
    fields: {
      command_id: commandId,
      type: "The command name.",
      run_id: "Choose it to make retries idempotent: a second create with the same run_id on the same thread is answered `duplicate` and never runs twice. A UUID is generated when it is absent. It names the run's topic.",
      thread_id: "The thread the run belongs to; also the record key.",
      graph_id: "The registered graph to run; an unknown one is rejected with `unknown_graph`. A run that resumes a thread (`command`) may leave it out: it runs the graph of the thread's latest run.",
      input: "The graph's input, any JSON. Leave it out when resuming through `command`.",
      command: "A LangGraph command: resume an interrupt, go to nodes, or update the state.",
      "command.resume": "The value the pending `interrupt()` returns (or a map of interrupt id → value for several). A thread that waits on no interrupt is refused with `no_pending_interrupt`.",
      "command.goto": "The node or nodes to continue at.",
      "command.update": "A state update: an object, or a list of [channel, value] pairs.",
      config: "LangGraph run config (`configurable`, `tags`, `recursion_limit`, …). runbus sets `thread_id` and `run_id` in `configurable` itself.",
      context: "The run's LangGraph runtime context, which nodes and tools read as `config.context`. runbus adds `thread_id` and `run_id`, which the caller cannot override. " + jsonObject,
      metadata: "Stored with the run and passed to the graph as run metadata. " + jsonObject,
      stream_mode: "The stream modes to emit: `values` (the default), `updates`, `messages`, `messages-tuple`, `custom`, `tasks`, `checkpoints`, `debug`. `events` and unknown modes are rejected with `unsupported_stream_mode`.",
      stream_subgraphs: "Also stream the chunks of subgraphs; their event names carry the namespace (`mode|ns1|ns2`).",
      interrupt_before: 'Node names to pause before, or "*" for every node.',
      interrupt_after: 'Node names to pause after, or "*" for every node.',
      checkpoint_id: "Start from this checkpoint of the thread instead of its latest one.",
      multitask_strategy: "What happens when the thread is busy: `reject` (the default), `enqueue`, `interrupt` or `rollback` the active run.",
      if_not_exists: "`create` (the default) creates a missing thread; `reject` answers `thread_not_found`.",
      durability: "LangGraph's checkpoint durability: `async` (the default) writes each step's checkpoint while the next step runs; `sync` writes it before the next step starts. LangGraph's `exit` is not accepted: another worker could not resume the run.",
      timeout_ms: "A deadline for the run, in milliseconds from its start; past it the run ends `timeout`.",
      after_seconds: "Start the run this many seconds from now (the reply says `scheduled`).",
      owner: "The identity the run (and a thread it creates) belongs to. A thread that exists with another owner, or with none, is answered `thread_not_found`. " + ownerNote,
    },
  },
  {
    name: "run.cancel",
    kind: "command",
    ceType: "runbus.command.run.cancel",
    title: "run.cancel command",
    description: "Cancels a pending or running run, wherever it executes.",
    schema: runCancelSchema,
    fields: {
      command_id: commandId,
      type: "The command name.",
      run_id: "The run to cancel.",
      thread_id: "The run's thread; also the record key.",
      action: "`interrupt` stops the run and keeps its checkpoints; `rollback` stops it and restores the thread to where it was before the run.",
    },
  },
  {
    name: "run.delete",
    kind: "command",
    ceType: "runbus.command.run.delete",
    title: "run.delete command",
    description:
      "Deletes an ended run's record. A run that is still pending or running is refused with `run_active` (cancel it first); its events stay on their topic until the janitor removes it.",
    schema: runDeleteSchema,
    fields: {
      command_id: commandId,
      type: "The command name.",
      run_id: "The run to delete.",
      thread_id: "The run's thread; also the record key.",
    },
  },
  {
    name: "thread.create",
    kind: "command",
    ceType: "runbus.command.thread.create",
    title: "thread.create command",
    description: "Creates a thread. Runs create their thread on first use, so this is only needed to set metadata up front.",
    schema: threadCreateSchema,
    fields: {
      command_id: commandId,
      type: "The command name.",
      thread_id: "The new thread; also the record key.",
      metadata: "The thread's metadata. " + jsonObject,
      if_exists: "`raise` (the default) answers `thread_exists` for an existing thread; `do_nothing` accepts it unchanged.",
      owner: "The identity the thread belongs to. An existing thread of another owner (or of none) is answered `thread_exists`, also under `do_nothing`. " + ownerNote,
    },
  },
  {
    name: "thread.update",
    kind: "command",
    ceType: "runbus.command.thread.update",
    title: "thread.update command",
    description: "Merges metadata into a thread's metadata.",
    schema: threadUpdateSchema,
    fields: {
      command_id: commandId,
      type: "The command name.",
      thread_id: "The thread; also the record key.",
      metadata: "The keys to set. " + jsonObject,
    },
  },
  {
    name: "thread.delete",
    kind: "command",
    ceType: "runbus.command.thread.delete",
    title: "thread.delete command",
    description: "Deletes a thread with its runs and checkpoints.",
    schema: threadDeleteSchema,
    fields: {
      command_id: commandId,
      type: "The command name.",
      thread_id: "The thread; also the record key.",
      force: "Delete a busy thread too, interrupting its runs; without it a busy thread is refused with `thread_busy`.",
    },
  },
  {
    name: "thread.update_state",
    kind: "command",
    ceType: "runbus.command.thread.update_state",
    title: "thread.update_state command",
    description:
      "Writes values into an idle thread's state as a node would (LangGraph's updateState), as a new checkpoint. A busy thread is refused with `thread_busy`. The reply's `result.checkpoint` names the new checkpoint.",
    schema: threadUpdateStateSchema,
    fields: {
      command_id: commandId,
      type: "The command name.",
      thread_id: "The thread; also the record key.",
      graph_id: "The graph whose reducers apply the update (the thread's graph).",
      values: "The update: an object of channel values, or what the graph's input accepts.",
      as_node: "Apply the update as if this node had written it (it decides which node runs next).",
      checkpoint_id: "Update from this checkpoint instead of the latest one (a fork).",
    },
  },
  {
    name: "thread.copy",
    kind: "command",
    ceType: "runbus.command.thread.copy",
    title: "thread.copy command",
    description:
      "Copies an idle thread: a new thread with the same metadata (plus the `graph_id` of its latest run) and every checkpoint and pending write of the original. A busy thread is refused with `thread_busy`; an existing `new_thread_id` with `thread_exists`.",
    schema: threadCopySchema,
    fields: {
      command_id: commandId,
      type: "The command name.",
      thread_id: "The thread to copy; also the record key.",
      new_thread_id: "The copy's id.",
      owner: "The identity the copy belongs to (else the original's owner). A thread of another owner (or of none) is answered `thread_not_found`. " + ownerNote,
    },
  },
  {
    name: "metadata",
    kind: "event",
    ceType: "runbus.run.metadata",
    title: "metadata event",
    description: "The first event of a run attempt.",
    schema: metadataEventSchema,
    fields: {
      run_id: "The run.",
      thread_id: "The run's thread.",
      attempt: "1 for the first execution; one more for each takeover after a worker was lost.",
    },
  },
  {
    name: "chunk",
    kind: "event",
    ceType: "runbus.run.<mode>",
    title: "Run chunk event",
    description:
      "One chunk of the graph's stream, named by its stream mode (`values`, `updates`, `messages`, …), or `mode|ns1|ns2` for a subgraph's chunk. The value is the chunk as JSON, in the shape LangGraph streams it for that mode: any JSON value.",
    schema: null,
    fields: {},
  },
  {
    name: "error",
    kind: "event",
    ceType: "runbus.run.error",
    title: "error event",
    description: "Emitted when a run ends `error`, just before `end`.",
    schema: errorEventSchema,
    fields: {
      name: "The error's name, such as `GraphRecursionError`, `RunRolledBack` or `RollbackFailed`.",
      message: "What went wrong.",
    },
  },
  {
    name: "end",
    kind: "event",
    ceType: "runbus.run.end",
    title: "end event",
    description: "The last event of a run, exactly once.",
    schema: endEventSchema,
    fields: {
      status: "The run's terminal status.",
      error: "Why the run ended `error` or `timeout`.",
      "error.name": "The error's name.",
      "error.message": "What went wrong.",
      interrupts: "The interrupts the graph paused on, when it ended `success` at an `interrupt()`.",
    },
  },
  {
    name: "transition",
    kind: "audit",
    ceType: "runbus.transition",
    title: "Audit record",
    description: "One state transition of a run or a thread.",
    schema: transitionSchema,
    fields: {
      kind: "Whether `id` names a run or a thread.",
      id: "The run id or the thread id; also the record key.",
      thread_id: "The thread (for a thread, the same as `id`).",
      from: "The status before; null for the first transition.",
      to: "The status after.",
      cause: "Why, such as `accepted`, `admitted`, `graph_completed`, `graph_failed`, `cancel_interrupt`, `cancel_rollback`, `restore_done`, `deadline_passed`.",
      at: "When, as an ISO 8601 UTC timestamp.",
      worker_id: "The worker that made the transition.",
      seq: "Orders the records of this run (across its attempts) or this thread (across workers and restarts), from 0; with worker_id it makes the record's ce_id.",
    },
  },
  {
    name: "reply",
    kind: "reply",
    ceType: "runbus.reply",
    title: "Reply",
    description: "The answer to every command.",
    schema: replySchema,
    fields: {
      command_id: "The command's `command_id`, or null when it had none or could not be read.",
      run_id: "The run, for run commands (also a generated one).",
      thread_id: "The command's thread, or null when it could not be read.",
      accepted: "Whether the command was accepted.",
      disposition: "For an accepted run.create: `started`, `queued`, `scheduled` or `duplicate` (a retry). For an accepted run.cancel, stored on the run record first: `applied` (by the worker that answered), `stored` (its owner applies it from the control topic, or the worker that takes the run over next), or `done` (it had already ended).",
      reason: "Why the command was rejected, in a sentence.",
      result: "What an accepted command produced: for `thread.update_state`, `{checkpoint: {thread_id, checkpoint_ns, checkpoint_id}}`; for `thread.copy`, `{thread_id}` of the copy.",
      code: `Why the command was rejected: one of ${WIRE_ERROR_CODES.map((code) => `\`${code}\``).join(", ")}.`,
    },
  },
];

/** Keywords written first and last, in these orders; the others go between, alphabetically. */
const LEADING_KEYWORDS = ["$schema", "title", "description", "type"];
const TRAILING_KEYWORDS = ["properties", "required", "additionalProperties"];
/** Keywords whose value maps names to schemas: the names keep their source order. */
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "$defs", "dependentSchemas"]);
/** Keywords whose value is data, not a schema. */
const DATA_KEYWORDS = new Set(["const", "default", "enum", "examples", "required"]);

function keywordRank(key: string): number {
  const leading = LEADING_KEYWORDS.indexOf(key);
  if (leading !== -1) return leading;
  const trailing = TRAILING_KEYWORDS.indexOf(key);
  return trailing === -1 ? LEADING_KEYWORDS.length : LEADING_KEYWORDS.length + 1 + trailing;
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The same schema with its keywords in a fixed order, so the output does not depend on zod's internals. */
function canonical(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(canonical);
  if (!isObject(schema)) return schema;
  const keys = Object.keys(schema).sort((a, b) => keywordRank(a) - keywordRank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const out: JsonSchema = {};
  for (const key of keys) {
    const value = schema[key];
    if (DATA_KEYWORDS.has(key)) out[key] = value;
    else if (SCHEMA_MAPS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, canonical(sub)]));
    } else out[key] = canonical(value);
  }
  return out;
}

function describeFields(message: ProtocolMessage, schema: JsonSchema): void {
  for (const [path, description] of Object.entries(message.fields)) {
    let node: unknown = schema;
    for (const part of path.split(".")) {
      const properties = isObject(node) ? node.properties : undefined;
      node = isObject(properties) ? properties[part] : undefined;
    }
    if (!isObject(node)) throw new Error(`Schema '${message.name}' has no field '${path}' to describe.`);
    // A description given in the zod schema itself wins.
    if (node.description === undefined) node.description = description;
  }
}

function jsonSchemaOf(message: ProtocolMessage): JsonSchema {
  // "input": what a producer may write, so a field with a default is optional. Objects that are not
  // strict stay open: runbus may add fields to what it produces, and readers ignore them.
  const schema: JsonSchema = message.schema
    ? (z.toJSONSchema(message.schema, { io: "input", target: "draft-2020-12" }) as JsonSchema)
    : { $schema: "https://json-schema.org/draft/2020-12/schema" };
  schema.title = message.title;
  schema.description = message.description;
  describeFields(message, schema);
  return canonical(schema) as JsonSchema;
}

/**
 * One JSON Schema (draft 2020-12) per command, run event, the audit record and the reply, by
 * message name, derived from the zod schemas and with keywords in a stable order.
 */
export function protocolJsonSchemas(): Record<string, JsonSchema> {
  return Object.fromEntries(PROTOCOL_MESSAGES.map((message) => [message.name, jsonSchemaOf(message)]));
}

import { ObjectId } from "mongodb";
import { z } from "zod";
import { RunbusError } from "../../errors.js";
import type { JournalEntry, RunRecord, ThreadRecord } from "../../ports.js";
import { CANCEL_ACTIONS, runCreateSchema } from "../../protocol/commands.js";
import { transitionSchema, type Transition } from "../../protocol/audit.js";
import { RUN_STATUSES, THREAD_STATUSES, type ThreadStatus } from "../../protocol/run-status.js";
import { metadataIndex } from "./metadata-index.js";

/*
 * The stored shapes, and the only way back from them: every document read is parsed here, so a
 * document of an unexpected shape (an older version, an edit by hand) becomes a `bad_document`
 * error that names it instead of a TypeError somewhere in the caller.
 */

export interface ThreadDocument {
  _id: string;
  status: ThreadStatus;
  display_name: string | null;
  metadata: Record<string, unknown>;
  /** Fingerprints of the metadata entries, for exact matching (see metadata-index.ts). */
  metadata_index: string[];
  active_run_id: string | null;
  created_at: Date;
  updated_at: Date;
  /** The owner of the active run, which holds the slot (see MongoThreadStore); null while the slot is free. */
  active_worker_id?: string | null;
  active_attempt?: number | null;
  /** The seq of the thread's next audit transition (see ThreadStore). */
  audit_seq?: number;
  /** The last claim or release, as JSON text (see ThreadStore.claim). */
  last_transition?: string;
  /** The identity the thread belongs to (see ThreadRecord.owner); absent when it has none. */
  owner?: string;
}

/** A deleted thread (see ThreadStore.leaveTombstone). */
export interface ThreadTombstoneDocument {
  _id: string;
  deleted_at: Date;
}

/** A run record as stored: keyed by its id, with the command as text and its arrival order. */
export type RunDocument = Omit<RunRecord, "run_id" | "request" | "machine" | "end_seq" | "cancel_requested"> & {
  _id: string;
  /**
   * The run.create command as JSON text: a graph input may hold keys containing '.' or starting
   * with '$', which MongoDB stores but cannot query or update by, and the record is only ever read
   * back whole.
   */
  request: string;
  /** Absent from documents written before they were kept. */
  machine?: string | null;
  end_seq?: number | null;
  cancel_requested?: RunRecord["cancel_requested"];
  /** Orders runs created in the same millisecond (see arrival.ts). */
  arrival: number;
};

type JournalFields<K extends JournalEntry["kind"]> = Omit<Extract<JournalEntry, { kind: K }>, "output">;

export type JournalDocument = { _id: ObjectId; seq: number } & (
  | JournalFields<"llm_call">
  | (JournalFields<"tool_result"> & { output_json?: string })
  | JournalFields<"error">
  | (Omit<JournalFields<"human_message">, "content"> & { content_json?: string })
  | JournalFields<"chain_start">
  | JournalFields<"chain_end">
);

const json = z.string().transform((text, ctx): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: "custom", message: "is not valid JSON text" });
    return z.NEVER;
  }
});

const tokenUsage = z.object({ input_tokens: z.number(), output_tokens: z.number(), total_tokens: z.number() });

const threadSchema = z.object({
  _id: z.string(),
  status: z.enum(THREAD_STATUSES),
  display_name: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  active_run_id: z.string().nullable(),
  created_at: z.date(),
  updated_at: z.date(),
  // Absent from threads created without an owner (and from documents written before owners).
  owner: z.string().optional(),
});

const holderSchema = z.object({
  _id: z.string(),
  active_run_id: z.string().nullable(),
  // Absent from documents written before slots recorded their holder: matched as null.
  active_worker_id: z.string().nullable().optional(),
  active_attempt: z.number().int().nonnegative().nullable().optional(),
});

const auditSeqSchema = z.object({
  // Absent from documents written before threads kept it: no transition was counted yet.
  audit_seq: z.number().int().nonnegative().default(0),
  // The last claim or release as JSON text; absent until the first one.
  last_transition: json.pipe(transitionSchema).optional(),
});

const runSchema = z.object({
  _id: z.string(),
  thread_id: z.string(),
  graph_id: z.string(),
  status: z.enum(RUN_STATUSES),
  error: z.object({ name: z.string(), message: z.string() }).nullable(),
  attempt: z.number().int().nonnegative(),
  worker_id: z.string().nullable(),
  lease_until: z.date().nullable(),
  created_at: z.date(),
  started_at: z.date().nullable(),
  ended_at: z.date().nullable(),
  // Absent from documents written before delayed runs existed: such a run has no delay.
  not_before: z.date().nullable().default(null),
  token_usage: tokenUsage,
  request: json.pipe(runCreateSchema),
  // Absent from documents written before takeovers existed.
  machine: z.string().nullable().default(null),
  // Absent until the run ends (and from documents written before finishing was tracked).
  end_seq: z.number().int().nonnegative().nullable().optional(),
  // Absent until a cancel arrives.
  cancel_requested: z.object({ action: z.enum(CANCEL_ACTIONS), at: z.date() }).nullable().optional(),
});

const journalBase = { run_id: z.string(), thread_id: z.string(), at: z.date() };
const journalSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("llm_call"),
    ...journalBase,
    model: z.string().nullable(),
    latency_ms: z.number(),
    token_usage: tokenUsage.nullable(),
  }),
  z.object({ kind: z.literal("tool_result"), ...journalBase, tool: z.string(), latency_ms: z.number(), output_json: json.optional() }),
  z.object({ kind: z.literal("error"), ...journalBase, name: z.string(), message: z.string() }),
  z.object({ kind: z.literal("human_message"), ...journalBase, source: z.enum(["input", "resume"]), content_json: json.optional() }),
  z.object({ kind: z.literal("chain_start"), ...journalBase, name: z.string() }),
  z.object({ kind: z.literal("chain_end"), ...journalBase, name: z.string(), latency_ms: z.number() }),
]);

function parse<T>(collection: string, schema: z.ZodType<T>, document: unknown): T {
  const result = schema.safeParse(document);
  if (result.success) return result.data;
  const id = typeof document === "object" && document !== null && "_id" in document ? String(document._id) : "(without _id)";
  const what = result.error.issues.map((issue) => `${issue.path.map(String).join(".") || "document"}: ${issue.message}`).join("; ");
  throw new RunbusError("bad_document", `${collection} document ${id} is malformed: ${what}`);
}

export function threadToDocument(thread: ThreadRecord): ThreadDocument {
  const { thread_id, ...fields } = thread;
  // The creation took seq 0.
  return { _id: thread_id, ...fields, metadata_index: metadataIndex(thread.metadata), active_worker_id: null, active_attempt: null, audit_seq: 1 };
}

/** The seq of a thread document's next audit transition. */
export function threadAuditSeqFromDocument(document: unknown): number {
  return parse("threads", auditSeqSchema, document).audit_seq;
}

/** The last claim or release stored with the thread, if any. */
export function threadLastTransitionFromDocument(document: unknown): Transition | undefined {
  return parse("threads", auditSeqSchema, document).last_transition;
}

/** The fields of a thread document that say which run holds its active-run slot, and under which owner. */
export function threadHolderFromDocument(document: unknown): z.infer<typeof holderSchema> {
  return parse("threads", holderSchema, document);
}

export function threadFromDocument(document: unknown): ThreadRecord {
  const { _id, ...fields } = parse("threads", threadSchema, document);
  return { thread_id: _id, ...fields };
}

export function runToDocument(run: RunRecord, arrival: number): RunDocument {
  const { run_id, request, ...fields } = run;
  return { _id: run_id, ...fields, request: JSON.stringify(request), arrival };
}

export function runFromDocument(document: unknown): RunRecord {
  const { _id, ...fields } = parse("runs", runSchema, document);
  return { run_id: _id, ...fields };
}

export function journalToDocument(entry: JournalEntry, seq: number): JournalDocument {
  // Field by field: it runs for every entry, and a spread of the entry is many times slower in V8.
  const { run_id, thread_id, at } = entry;
  const _id = new ObjectId();
  switch (entry.kind) {
    case "llm_call": {
      const { model, latency_ms, token_usage } = entry;
      // Copied: the entry is written later, and the caller may reuse its usage object.
      return { _id, seq, kind: "llm_call", run_id, thread_id, at, model, latency_ms, token_usage: token_usage && { ...token_usage } };
    }
    case "tool_result":
      return { _id, seq, kind: "tool_result", run_id, thread_id, at, tool: entry.tool, latency_ms: entry.latency_ms, output_json: jsonText(entry.output) };
    case "error":
      return { _id, seq, kind: "error", run_id, thread_id, at, name: entry.name, message: entry.message };
    case "human_message":
      return { _id, seq, kind: "human_message", run_id, thread_id, at, source: entry.source, content_json: jsonText(entry.content) };
    case "chain_start":
      return { _id, seq, kind: "chain_start", run_id, thread_id, at, name: entry.name };
    case "chain_end":
      return { _id, seq, kind: "chain_end", run_id, thread_id, at, name: entry.name, latency_ms: entry.latency_ms };
  }
}

export function journalFromDocument(document: unknown): JournalEntry {
  const parsed = parse("run_events", journalSchema, document);
  if (parsed.kind === "tool_result") {
    const { output_json, ...fields } = parsed;
    return { ...fields, output: output_json };
  }
  if (parsed.kind === "human_message") {
    const { content_json, ...fields } = parsed;
    return { ...fields, content: content_json ?? null };
  }
  return parsed;
}

/** JSON text of a tool's output (stored as text for the same reason as a run's request); never throws. */
function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (error) {
    return JSON.stringify(`[unserializable: ${error instanceof Error ? error.message : String(error)}]`);
  }
}

/**
 * The chaos graph's side-effect ledger: its tool inserts one document per execution into
 * `chaos_tool_executions`, so the scenario can count how often each step of each run really ran
 * (a takeover may run again only the step that was in flight when its worker was killed).
 *
 * It runs inside the `runbus worker` processes, which find their database in RUNBUS_MONGODB_URI
 * and RUNBUS_MONGODB_DB; one MongoClient per process, made on first use.
 */
import { MongoClient, type Db } from "mongodb";

export const TOOL_EXECUTIONS_COLLECTION = "chaos_tool_executions";

export interface ToolExecution {
  run_id: string;
  thread_id: string;
  /** LangGraph's superstep of the tools node: a resumed run repeats the step number it re-runs. */
  step: number;
  tool_call_id: string | null;
  /** The run record's attempt when the execution began. */
  attempt: number | null;
  /** The worker that executed it. */
  worker_id: string;
  /** The run record's owner when the execution began: another worker's id means a stale executor. */
  owner_id: string | null;
  pid: number;
  /** When the execution began (this host's clock, as the scenario's kill times). */
  at: Date;
}

let database: Promise<Db> | undefined;

function ledger(): Promise<Db> {
  if (database) return database;
  const connecting = (async () => {
    const uri = process.env.RUNBUS_MONGODB_URI;
    if (!uri) throw new Error("The chaos tool records its executions in MongoDB, but RUNBUS_MONGODB_URI is not set.");
    const client = new MongoClient(uri, { maxPoolSize: 4 });
    try {
      await client.connect();
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
    return client.db(process.env.RUNBUS_MONGODB_DB ?? "runbus");
  })();
  // A failed connect is tried again by the next execution rather than cached.
  connecting.catch(() => {
    if (database === connecting) database = undefined;
  });
  database = connecting;
  return connecting;
}

/** Records that a step's tool began executing; the attempt and owner come from the run record. */
export async function recordToolExecution(execution: { runId: string; threadId: string; step: number; toolCallId: string | null }): Promise<void> {
  const db = await ledger();
  const run = await db
    .collection<{ _id: string; attempt?: number; worker_id?: string | null }>("runs")
    .findOne({ _id: execution.runId }, { projection: { attempt: 1, worker_id: 1 } });
  await db.collection<ToolExecution>(TOOL_EXECUTIONS_COLLECTION).insertOne({
    run_id: execution.runId,
    thread_id: execution.threadId,
    step: execution.step,
    tool_call_id: execution.toolCallId,
    attempt: run?.attempt ?? null,
    worker_id: process.env.RUNBUS_WORKER_ID ?? `pid-${process.pid}`,
    owner_id: run?.worker_id ?? null,
    pid: process.pid,
    at: new Date(),
  });
}

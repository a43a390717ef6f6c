import { mongoClientOptions } from "../adapters/mongo/client-options.js";
import { loadConfig } from "../config.js";
import { RunbusError } from "../errors.js";
import type { ThreadRecord } from "../ports.js";
import type { ThreadStatus } from "../protocol/run-status.js";
import { pendingInterrupts } from "../graph/thread-state.js";
import { clientLogger, EXIT_OK } from "./context.js";
import { bold, dim, statusColor } from "./render.js";

export interface ThreadsOptions {
  status?: ThreadStatus;
  limit?: number;
}

/** `runbus threads`: lists threads from MongoDB, where workers keep them (Kafka holds no thread list). */
export async function threadsCommand(options: ThreadsOptions): Promise<number> {
  const config = loadConfig();
  if (!config.mongodb) {
    throw new RunbusError(
      "config_invalid",
      "Threads live in MongoDB, not on Kafka: set RUNBUS_MONGODB_URI (and RUNBUS_MONGODB_DB if not 'runbus') to the database your workers use",
    );
  }
  // Loaded only here: the other commands need no MongoDB driver.
  const { openMongoStores } = await import("../adapters/mongo/stores.js");
  const stores = await openMongoStores({
    uri: config.mongodb.uri,
    dbName: config.mongodb.dbName,
    clientOptions: mongoClientOptions(config.mongodb),
    logger: clientLogger(),
  });
  try {
    const threads = await stores.threads.list({ ...(options.status ? { status: options.status } : {}), limit: options.limit ?? 20 });
    // What each interrupted thread waits for, from its latest checkpoint's pending writes.
    const waiting = new Map<string, unknown[]>();
    for (const thread of threads) {
      if (thread.status === "interrupted") waiting.set(thread.thread_id, await pendingInterrupts(stores.checkpointer, thread.thread_id));
    }
    process.stdout.write(threadTable(threads, waiting));
    return EXIT_OK;
  } finally {
    await stores.close();
  }
}

export function threadTable(threads: readonly ThreadRecord[], waiting: ReadonlyMap<string, readonly unknown[]> = new Map()): string {
  if (threads.length === 0) return `${dim("no threads")}\n`;
  const rows = threads.map((t) => [t.thread_id, t.status, t.active_run_id ?? "-", t.updated_at.toISOString(), t.display_name ?? "", waitingFor(waiting.get(t.thread_id))]);
  const headers = ["THREAD", "STATUS", "ACTIVE RUN", "UPDATED", "NAME", "WAITING FOR"];
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  // Pad before colouring: escape codes would count toward the width.
  const pad = (cells: string[], paint: (cell: string, column: number) => string) =>
    cells.map((cell, i) => paint(i === cells.length - 1 ? cell : cell.padEnd(widths[i]!), i)).join("  ").trimEnd();
  const lines = [
    bold(pad(headers, (cell) => cell)),
    ...rows.map((row) => pad(row, (cell, column) => (column === 1 ? statusColor(row[1]!)(cell) : cell))),
  ];
  return `${lines.join("\n")}\n`;
}

/** The interrupts' values, as JSON, one after another: what `runbus resume --value` answers. */
function waitingFor(interrupts: readonly unknown[] | undefined): string {
  if (!interrupts?.length) return "";
  return interrupts.map((i) => JSON.stringify(i && typeof i === "object" && "value" in i ? (i as { value: unknown }).value : i)).join(" ");
}


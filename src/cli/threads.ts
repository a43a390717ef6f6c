import { loadConfig } from "../config.js";
import { RunbusError } from "../errors.js";
import type { ThreadRecord } from "../ports.js";
import type { ThreadStatus } from "../protocol/run-status.js";
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
  const stores = await openMongoStores({ uri: config.mongodb.uri, dbName: config.mongodb.dbName, logger: clientLogger() });
  try {
    const threads = await stores.threads.list({ ...(options.status ? { status: options.status } : {}), limit: options.limit ?? 20 });
    process.stdout.write(threadTable(threads));
    return EXIT_OK;
  } finally {
    await stores.close();
  }
}

export function threadTable(threads: readonly ThreadRecord[]): string {
  if (threads.length === 0) return `${dim("no threads")}\n`;
  const rows = threads.map((t) => [t.thread_id, t.status, t.active_run_id ?? "-", t.updated_at.toISOString(), t.display_name ?? ""]);
  const headers = ["THREAD", "STATUS", "ACTIVE RUN", "UPDATED", "NAME"];
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

import { MongoClient } from "mongodb";
import { mongoClientOptions } from "../adapters/mongo/client-options.js";
import { runEventsCollection } from "../adapters/mongo/collections.js";
import { MongoJournal } from "../adapters/mongo/journal.js";
import { loadConfig } from "../config.js";
import { RunbusError } from "../errors.js";
import type { JournalEntry } from "../ports.js";
import { checkId, EXIT_FAILED, EXIT_OK } from "./context.js";
import { bold, dim } from "./render.js";

/** `runbus journal <run_id>`: the run's journal in order, from MongoDB where workers write it. */
export async function journalCommand(runId: string): Promise<number> {
  checkId("run", runId);
  const config = loadConfig();
  if (!config.mongodb) {
    throw new RunbusError("config_invalid", "The journal lives in MongoDB: set RUNBUS_MONGODB_URI (and RUNBUS_MONGODB_DB if not 'runbus') to the database your workers use");
  }
  const client = new MongoClient(config.mongodb.uri, mongoClientOptions(config.mongodb));
  try {
    await client.connect();
    const journal = new MongoJournal(runEventsCollection(client.db(config.mongodb.dbName)), { flushIntervalMs: null });
    const entries = await journal.list(runId);
    if (entries.length === 0) {
      process.stdout.write(`${dim(`no journal entries for run ${runId}`)}\n`);
      return EXIT_FAILED;
    }
    process.stdout.write(entries.map(journalLine).join("\n") + "\n");
    return EXIT_OK;
  } finally {
    await client.close();
  }
}

export function journalLine(entry: JournalEntry): string {
  const at = dim(entry.at.toISOString());
  switch (entry.kind) {
    case "human_message":
      return `${at} ${bold("human")} ${dim(`(${entry.source})`)} ${JSON.stringify(entry.content)}`;
    case "chain_start":
      return `${at} ${bold("start")} ${entry.name}`;
    case "chain_end":
      return `${at} ${bold("end")} ${entry.name} ${dim(`${entry.latency_ms} ms`)}`;
    case "llm_call": {
      const usage = entry.token_usage ? ` tokens ${entry.token_usage.total_tokens} (in ${entry.token_usage.input_tokens} / out ${entry.token_usage.output_tokens})` : "";
      return `${at} ${bold("model")} ${entry.model ?? "?"} ${dim(`${entry.latency_ms} ms${usage}`)}`;
    }
    case "tool_result":
      return `${at} ${bold("tool")} ${entry.tool} ${dim(`${entry.latency_ms} ms`)} ${JSON.stringify(entry.output)}`;
    case "error":
      return `${at} ${bold("error")} ${entry.name}: ${entry.message}`;
  }
}

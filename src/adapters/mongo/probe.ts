import { MongoClient } from "mongodb";
import { RunbusError, messageOf } from "../../errors.js";
import { redactUri } from "../../logger.js";

/** Pings the server behind `uri`, failing within a few seconds with an error that names it. */
export async function probeMongo(uri: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.connect();
    await client.db("admin").command({ ping: 1 });
  } catch (error) {
    throw new RunbusError("mongodb_unreachable", `No MongoDB server answered at ${redactUri(uri)}: ${messageOf(error)}`, {
      retryable: true,
      cause: error,
    });
  } finally {
    await client.close().catch(() => undefined);
  }
}

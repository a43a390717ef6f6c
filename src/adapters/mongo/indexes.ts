import type { Db, IndexSpecification } from "mongodb";
import { RUN_EVENTS, RUNS, THREAD_CLAIMS, THREADS } from "./collections.js";

/** Plain indexes only: FerretDB has no partial or TTL indexes, and none of these needs one. */
export const INDEXES: ReadonlyArray<{ collection: string; key: IndexSpecification }> = [
  { collection: THREADS, key: { status: 1, updated_at: -1 } },
  { collection: RUNS, key: { thread_id: 1, status: 1, arrival: 1 } },
  { collection: RUNS, key: { thread_id: 1, created_at: -1 } },
  { collection: RUNS, key: { status: 1, lease_until: 1 } },
  { collection: RUN_EVENTS, key: { run_id: 1, at: 1, seq: 1 } },
  { collection: THREAD_CLAIMS, key: { thread_id: 1, run_id: 1 } },
];

/**
 * Creates the indexes the stores query by; idempotent, so every worker calls it at start.
 * One createIndex command per index: given one createIndexes command naming several indexes,
 * FerretDB 1.24 drops the connection (a server-side panic) when two or more exist already and none
 * is new, and answers ok without creating the new ones when two or more exist and some are new.
 */
export async function ensureIndexes(db: Db): Promise<void> {
  for (const { collection, key } of INDEXES) await db.collection(collection).createIndex(key);
}

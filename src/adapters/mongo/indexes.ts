import type { Db, IndexSpecification } from "mongodb";
import { RUN_EVENTS, RUNS, THREADS } from "./collections.js";

/** Plain indexes only: none of these needs a partial or TTL index. */
export const INDEXES: ReadonlyArray<{ collection: string; key: IndexSpecification }> = [
  { collection: THREADS, key: { status: 1, updated_at: -1 } },
  // An authenticating gateway's searches: one identity's threads.
  { collection: THREADS, key: { owner: 1, updated_at: -1 } },
  { collection: RUNS, key: { thread_id: 1, status: 1, arrival: 1 } },
  { collection: RUNS, key: { thread_id: 1, created_at: -1 } },
  { collection: RUNS, key: { status: 1, lease_until: 1 } },
  { collection: RUN_EVENTS, key: { run_id: 1, at: 1, seq: 1 } },
];

/** Creates the indexes the stores query by; idempotent, so every worker calls it at start. */
export async function ensureIndexes(db: Db): Promise<void> {
  for (const { collection, key } of INDEXES) await db.collection(collection).createIndex(key);
}

import type { Db } from "mongodb";

/**
 * Claim tokens, for servers whose conditional update is not atomic.
 *
 * On MongoDB, `updateOne({_id, active_run_id: null}, …)` re-checks its filter as it writes, so of any
 * number of concurrent claims exactly one matches. FerretDB 1.24 (SQLite backend) reads the matching
 * documents, applies the update in memory and writes each back by `_id` alone: concurrent claims all
 * "match" and the last write wins (measured: more than one winner of 50 in 195 of 200 rounds, up to 49).
 * Its one atomic conditional primitive is the unique `_id` of an insert, so there a claim first
 * inserts a token keyed by the slot's current vacancy (`thread/epoch/seq`: a release moves `seq` on,
 * a new thread gets a new `epoch`), and only the claim whose insert succeeds goes on to the update.
 *
 * The cost, on FerretDB only: a claimer that dies between its token and its update leaves the vacancy
 * taken until the same run claims again. Other concurrent writes to one thread (an update racing a
 * release) can still lose one another there; the thread-store actor serializes them per thread.
 */
export interface ThreadClaimDocument {
  /** `${thread_id}/${slot_epoch}/${slot_seq}`: one token per vacancy of the slot. */
  _id: string;
  thread_id: string;
  run_id: string;
  claimed_at: Date;
}

export function claimKey(threadId: string, slot: { slot_epoch?: string | undefined; slot_seq?: number | undefined }): string {
  return `${threadId}/${slot.slot_epoch ?? "-"}/${slot.slot_seq ?? 0}`;
}

/** True when the server behind `db` is FerretDB, whose updates need claim tokens (any version, to be safe). */
export async function updatesNeedClaimTokens(db: Db): Promise<boolean> {
  const info = await db.admin().command({ buildInfo: 1 });
  return "ferretdbVersion" in info;
}

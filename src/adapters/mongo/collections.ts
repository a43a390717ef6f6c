import type { Collection, Db } from "mongodb";
import type { JournalDocument, RunDocument, ThreadDocument, ThreadTombstoneDocument } from "./documents.js";

export const THREADS = "threads";
export const RUNS = "runs";
export const RUN_EVENTS = "run_events";
export const THREAD_TOMBSTONES = "thread_tombstones";

// ignoreUndefined: an optional field left undefined is omitted rather than stored as null, so a
// document reads back as the record that was written (and `$set` skips undefined patch fields).
const options = { ignoreUndefined: true } as const;

export function threadsCollection(db: Db): Collection<ThreadDocument> {
  return db.collection<ThreadDocument>(THREADS, options);
}

export function runsCollection(db: Db): Collection<RunDocument> {
  return db.collection<RunDocument>(RUNS, options);
}

export function runEventsCollection(db: Db): Collection<JournalDocument> {
  return db.collection<JournalDocument>(RUN_EVENTS, options);
}

export function threadTombstonesCollection(db: Db): Collection<ThreadTombstoneDocument> {
  return db.collection<ThreadTombstoneDocument>(THREAD_TOMBSTONES, options);
}

/** True for the server's "E11000 duplicate key" answer to an insert. */
export function isDuplicateKey(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === 11000;
}

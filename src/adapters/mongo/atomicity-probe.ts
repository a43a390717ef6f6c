import { randomUUID } from "node:crypto";
import { RunbusError } from "../../errors.js";

export interface ProbeDocument {
  _id: string;
  owner: number | null;
  count: number;
}

/** The few collection calls the probe makes; a `mongodb` Collection<ProbeDocument> has them. */
export interface ProbeCollection {
  insertOne(document: ProbeDocument): Promise<unknown>;
  updateOne(filter: Record<string, unknown>, update: Record<string, unknown>): Promise<{ matchedCount: number }>;
  findOne(filter: { _id: string }): Promise<{ count?: unknown } | null>;
  deleteOne(filter: { _id: string }): Promise<unknown>;
}

export interface AtomicityProbeOptions {
  /** Concurrent updates raced per round. */
  contenders?: number;
  rounds?: number;
  /** Names the server in the error. */
  server?: string;
}

/**
 * Races concurrent conditional updates on one document, as workers race for a lease or a thread
 * slot, and throws `store_not_atomic` unless exactly one wins each round and no increment is
 * lost. runbus's fencing (DESIGN §7) rests on MongoDB applying a single-document conditional
 * update atomically; a server that reads, then writes back the whole document (FerretDB 1.x)
 * lets several workers hold one run, and is refused at start-up rather than worked around.
 */
export async function probeAtomicUpdates(collection: ProbeCollection, options: AtomicityProbeOptions = {}): Promise<void> {
  const contenders = options.contenders ?? 8;
  const rounds = options.rounds ?? 2;
  for (let round = 1; round <= rounds; round++) {
    const _id = `atomicity-probe-${randomUUID()}`;
    await collection.insertOne({ _id, owner: null, count: 0 });
    try {
      const claims = await Promise.all(
        Array.from({ length: contenders }, (_, i) => collection.updateOne({ _id, owner: null }, { $set: { owner: i }, $inc: { count: 1 } })),
      );
      const winners = claims.filter((result) => result.matchedCount === 1).length;
      const count = (await collection.findOne({ _id }))?.count;
      if (winners !== 1 || count !== 1) {
        throw notAtomic(options.server, `${winners} of ${contenders} concurrent updateOne({_id, owner: null}) calls matched, and the document counts ${String(count)} updates (round ${round})`);
      }
      await Promise.all(Array.from({ length: contenders }, () => collection.updateOne({ _id }, { $inc: { count: 1 } })));
      const total = (await collection.findOne({ _id }))?.count;
      if (total !== contenders + 1) {
        throw notAtomic(options.server, `${contenders} concurrent $inc updates of one document left ${String(total)} where ${contenders + 1} was due (round ${round})`);
      }
    } finally {
      await collection.deleteOne({ _id });
    }
  }
}

function notAtomic(server: string | undefined, what: string): RunbusError {
  return new RunbusError(
    "store_not_atomic",
    `The MongoDB server${server ? ` at ${server}` : ""} does not apply conditional updates atomically: ${what}. ` +
      "runbus fences workers with single-document conditional updates (DESIGN §7); use MongoDB or a server whose updates are atomic.",
  );
}

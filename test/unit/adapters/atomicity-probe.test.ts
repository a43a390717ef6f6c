import { describe, expect, it } from "vitest";
import { probeAtomicUpdates, type ProbeCollection, type ProbeDocument } from "../../../src/adapters/mongo/atomicity-probe.js";
import { isRunbusError } from "../../../src/errors.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A collection whose updates read the document, yield, then write it back whole — as FerretDB 1.x
 * applies them — or, when `atomic`, check and write in one step.
 */
function fakeCollection(atomic: boolean): ProbeCollection & { documents: Map<string, ProbeDocument> } {
  const documents = new Map<string, ProbeDocument>();
  const matches = (document: ProbeDocument, filter: Record<string, unknown>) =>
    Object.entries(filter).every(([key, value]) => (document as unknown as Record<string, unknown>)[key] === value);
  return {
    documents,
    async insertOne(document) {
      documents.set(document._id, { ...document });
    },
    async updateOne(filter, update) {
      const read = documents.get(filter._id as string);
      if (!read || !matches(read, filter)) return { matchedCount: 0 };
      const copy = { ...read };
      if (!atomic) await tick();
      const set = (update.$set ?? {}) as Partial<ProbeDocument>;
      const inc = (update.$inc ?? {}) as { count?: number };
      const base = atomic ? documents.get(copy._id)! : copy;
      documents.set(copy._id, { ...base, ...set, count: base.count + (inc.count ?? 0) });
      return { matchedCount: 1 };
    },
    async findOne(filter) {
      return documents.get(filter._id) ?? null;
    },
    async deleteOne(filter) {
      documents.delete(filter._id);
    },
  };
}

describe("the start-up atomicity probe", () => {
  it("refuses a server whose conditional updates read, then write the whole document", async () => {
    const collection = fakeCollection(false);
    const refused = await probeAtomicUpdates(collection, { server: "mongodb://127.0.0.1:1/" }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isRunbusError(refused, "store_not_atomic")).toBe(true);
    expect((refused as Error).message).toMatch(/^The MongoDB server at mongodb:\/\/127\.0\.0\.1:1\/ does not apply conditional updates atomically: 8 of 8 concurrent updateOne/);
    expect((refused as Error).message).toContain("use MongoDB or a server whose updates are atomic");
    // It cleans up after itself either way.
    expect(collection.documents.size).toBe(0);
  });

  it("passes a server whose conditional updates are atomic", async () => {
    const collection = fakeCollection(true);
    await expect(probeAtomicUpdates(collection, { contenders: 16, rounds: 3 })).resolves.toBeUndefined();
    expect(collection.documents.size).toBe(0);
  });
});

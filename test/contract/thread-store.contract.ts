import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import type { Clock, ThreadRecord, ThreadStore } from "../../src/ports.js";

/** A clock that moves only when told, so `updated_at` orderings are exact. */
export class TestClock implements Clock {
  constructor(private ms = Date.UTC(2025, 0, 1)) {}

  now(): Date {
    return new Date(this.ms);
  }

  advance(ms = 1000): Date {
    this.ms += ms;
    return this.now();
  }
}

const ids = (records: ThreadRecord[]): string[] => records.map((t) => t.thread_id);
const w1 = { worker_id: "w1", attempt: 1 };

/**
 * The ThreadStore port's behaviour, shared by the in-memory store and MongoThreadStore.
 * `makeStore` returns a store holding no threads, reading time from `clock`.
 */
export function threadStoreContract(
  name: string,
  makeStore: (clock: Clock) => ThreadStore | Promise<ThreadStore>,
): void {
  describe(`ThreadStore contract: ${name}`, () => {
    let clock: TestClock;
    let store: ThreadStore;
    let prefix: string;
    const id = (suffix: string): string => `${prefix}-${suffix}`;

    beforeEach(async () => {
      clock = new TestClock();
      store = await makeStore(clock);
      prefix = `t${randomUUID().slice(0, 8)}`;
    });

    it("creates a thread once; a second create returns the stored one unchanged", async () => {
      expect(await store.get(id("a"))).toBeUndefined();
      const created = await store.create(id("a"), { owner: "ann", nested: { tags: ["x", "y"] } });
      const expected: ThreadRecord = {
        thread_id: id("a"),
        status: "idle",
        display_name: null,
        metadata: { owner: "ann", nested: { tags: ["x", "y"] } },
        active_run_id: null,
        created_at: clock.now(),
        updated_at: clock.now(),
      };
      expect(created).toEqual({ thread: expected, created: true });

      clock.advance();
      expect(await store.create(id("a"), { owner: "bob" })).toEqual({ thread: expected, created: false });
      expect(await store.get(id("a"))).toEqual(expected);
    });

    it("records a thread's owner when one is given, keeps it on a second create, and filters lists and counts by it", async () => {
      const [ann, bob] = [`${prefix}-ann`, `${prefix}-bob`];
      const { thread } = await store.create(id("a"), { team: "core" }, ann);
      expect(thread.owner).toBe(ann);
      expect((await store.create(id("a"), {}, bob)).thread.owner).toBe(ann);
      await store.create(id("b"), { team: "core" }, bob);
      await store.create(id("c"), { team: "core" });
      expect((await store.get(id("a")))?.owner).toBe(ann);
      expect(await store.get(id("c"))).not.toHaveProperty("owner");
      expect(ids(await store.list({ owner: ann }))).toEqual([id("a")]);
      expect(ids(await store.list({ owner: bob, metadata: { team: "core" } }))).toEqual([id("b")]);
      expect(await store.count({ owner: ann })).toBe(1);
      expect(await store.count({ owner: `${prefix}-nobody` })).toBe(0);
      // A status write leaves the owner alone.
      expect((await store.update(id("a"), { status: "busy" }))?.owner).toBe(ann);
    });

    it("lets exactly one of 50 concurrent claims take the active-run slot", async () => {
      // Several rounds: the first ones may run on few connections, the later ones truly at once.
      for (const round of [1, 2, 3, 4, 5]) {
        const thread = id(`race-${round}`);
        await store.create(thread, {});
        const runs = Array.from({ length: 50 }, (_, i) => `run-${round}-${i}`);
        const results = await Promise.all(runs.map((run) => store.claim(thread, run, w1)));

        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = runs[results.indexOf(true)];
        expect(await store.get(thread)).toMatchObject({ active_run_id: winner, status: "busy" });
        expect(await store.claim(thread, "late", w1)).toBe(false);
      }
    });

    it("refuses a claim on a thread that does not exist", async () => {
      expect(await store.claim(id("missing"), "run-1", w1)).toBe(false);
      expect(await store.get(id("missing"))).toBeUndefined();
    });

    it("lets only the holder release the slot, which can then be claimed again", async () => {
      await store.create(id("a"), {});
      clock.advance();
      expect(await store.claim(id("a"), "run-1", w1)).toBe(true);
      const held = await store.get(id("a"));
      expect(held).toMatchObject({ active_run_id: "run-1", status: "busy", updated_at: clock.now() });

      clock.advance();
      expect(await store.release(id("a"), "run-2", w1, { status: "idle" })).toBe(false);
      // The right run, but another owner of it: another worker, or an earlier attempt.
      expect(await store.release(id("a"), "run-1", { worker_id: "w2", attempt: 1 }, { status: "idle" })).toBe(false);
      expect(await store.release(id("a"), "run-1", { worker_id: "w1", attempt: 0 }, { status: "idle" })).toBe(false);
      expect(await store.get(id("a"))).toEqual(held);

      const releasedAt = clock.advance();
      expect(await store.release(id("a"), "run-1", w1, { status: "error", display_name: "failed once" })).toBe(true);
      expect(await store.get(id("a"))).toMatchObject({ active_run_id: null, status: "error", display_name: "failed once", updated_at: releasedAt });
      expect(await store.release(id("a"), "run-1", w1, { status: "idle" })).toBe(false);

      expect(await store.claim(id("a"), "run-3", w1)).toBe(true);
      expect(await store.claim(id("a"), "run-4", w1)).toBe(false);
      expect(await store.get(id("a"))).toMatchObject({ active_run_id: "run-3", status: "busy" });
    });

    it("moves the slot to the run's new owner after a takeover, so only the new owner's release frees it", async () => {
      await store.create(id("t"), {});
      expect(await store.claim(id("t"), "run-1", w1)).toBe(true);
      const taker = { worker_id: "w2", attempt: 2 };
      expect(await store.transferClaim(id("t"), "run-1", taker)).toBe(true);
      expect(await store.release(id("t"), "run-1", w1, { status: "idle" })).toBe(false);
      expect(await store.get(id("t"))).toMatchObject({ active_run_id: "run-1", status: "busy" });
      // A later taker moves it on from whichever owner holds it.
      const next = { worker_id: "w3", attempt: 3 };
      expect(await store.transferClaim(id("t"), "run-1", next)).toBe(true);
      expect(await store.release(id("t"), "run-1", taker, { status: "idle" })).toBe(false);
      expect(await store.release(id("t"), "run-1", next, { status: "idle" })).toBe(true);
      // A run that does not hold the slot has nothing to move.
      expect(await store.transferClaim(id("t"), "run-1", next)).toBe(false);
      expect(await store.transferClaim(id("missing"), "run-1", next)).toBe(false);
    });

    it("numbers the thread's transitions: creation 0, then one seq per claim and release that happened", async () => {
      const seq = async () => (await store.getWithSeq(id("a")))?.auditSeq;
      expect(await store.getWithSeq(id("a"))).toBeUndefined();
      await store.create(id("a"), {});
      expect(await store.getWithSeq(id("a"))).toEqual({ thread: await store.get(id("a")), auditSeq: 1 });
      await store.create(id("a"), {});
      expect(await seq()).toBe(1);

      expect(await store.claim(id("a"), "run-1", w1)).toBe(true);
      expect(await seq()).toBe(2);
      expect(await store.claim(id("a"), "run-2", w1)).toBe(false);
      expect(await store.transferClaim(id("a"), "run-1", { worker_id: "w2", attempt: 2 })).toBe(true);
      expect(await store.release(id("a"), "run-1", w1, { status: "idle" })).toBe(false);
      await store.update(id("a"), { metadata: { renamed: true } });
      expect(await seq()).toBe(2);

      expect(await store.release(id("a"), "run-1", { worker_id: "w2", attempt: 2 }, { status: "idle" })).toBe(true);
      expect(await seq()).toBe(3);
    });

    it("takes a given seq only while it is the thread's next one, so a decision on an overtaken read matches nothing", async () => {
      await store.create(id("a"), {});
      // Another worker claimed and released the thread after this one read seq 1.
      expect(await store.claim(id("a"), "run-1", w1, 1)).toBe(true);
      expect(await store.release(id("a"), "run-1", w1, { status: "idle" }, 2)).toBe(true);
      const before = await store.get(id("a"));

      expect(await store.claim(id("a"), "run-2", w1, 1)).toBe(false);
      expect(await store.get(id("a"))).toEqual(before);
      expect(await store.claim(id("a"), "run-2", w1, 3)).toBe(true);
      expect(await store.release(id("a"), "run-2", w1, { status: "idle" }, 3)).toBe(false);
      expect(await store.get(id("a"))).toMatchObject({ active_run_id: "run-2", status: "busy" });
      expect(await store.release(id("a"), "run-2", w1, { status: "idle" }, 4)).toBe(true);
      expect((await store.getWithSeq(id("a")))?.auditSeq).toBe(5);
    });

    it("of 50 concurrent claims given the same seq, one wins and takes it", async () => {
      await store.create(id("a"), {});
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.claim(id("a"), `run-${i}`, w1, 1)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.getWithSeq(id("a")))?.auditSeq).toBe(2);
    });

    it("keeps a deleted thread's tombstone until the id is used again", async () => {
      expect(await store.clearTombstone(id("gone"))).toBe(false);
      await store.leaveTombstone(id("gone"), clock.now());
      await store.leaveTombstone(id("gone"), clock.advance());
      expect(await store.clearTombstone(id("gone"))).toBe(true);
      expect(await store.clearTombstone(id("gone"))).toBe(false);
    });

    it("lists threads most recently updated first, filtered by status and metadata, paged by limit and offset", async () => {
      await store.create(id("1"), { team: "core", tier: 1 });
      clock.advance();
      await store.create(id("2"), { team: "core", tier: 2 });
      clock.advance();
      await store.create(id("3"), { team: "web", tier: 1 });
      clock.advance();
      await store.create(id("4"), { team: "core", tier: 1 });
      clock.advance();
      await store.claim(id("1"), "run-1", w1); // now the most recently updated, and busy

      expect(ids(await store.list())).toEqual([id("1"), id("4"), id("3"), id("2")]);
      expect(ids(await store.list({ status: "busy" }))).toEqual([id("1")]);
      expect(ids(await store.list({ status: "idle" }))).toEqual([id("4"), id("3"), id("2")]);
      expect(ids(await store.list({ metadata: { team: "core" } }))).toEqual([id("1"), id("4"), id("2")]);
      expect(ids(await store.list({ metadata: { team: "core", tier: 1 } }))).toEqual([id("1"), id("4")]);
      expect(ids(await store.list({ status: "idle", metadata: { team: "core" } }))).toEqual([id("4"), id("2")]);
      expect(ids(await store.list({ metadata: { team: "ops" } }))).toEqual([]);

      expect(ids(await store.list({ limit: 2 }))).toEqual([id("1"), id("4")]);
      expect(ids(await store.list({ limit: 2, offset: 2 }))).toEqual([id("3"), id("2")]);
      expect(ids(await store.list({ offset: 3 }))).toEqual([id("2")]);
      expect(ids(await store.list({ ids: [id("2"), id("3"), "no-such-thread"] }))).toEqual([id("3"), id("2")]);
      expect(ids(await store.list({ sort: { by: "thread_id", order: "asc" } }))).toEqual([id("1"), id("2"), id("3"), id("4")]);
      expect(ids(await store.list({ sort: { by: "updated_at", order: "asc" }, limit: 2 }))).toEqual([id("2"), id("3")]);
      expect(ids(await store.list({ sort: { by: "status", order: "asc" }, limit: 1 }))).toEqual([id("1")]);
      expect(await store.count()).toBe(4);
      expect(await store.count({ metadata: { team: "core" }, limit: 1 })).toBe(3);
      expect(await store.count({ ids: [id("1"), id("2")], status: "idle" })).toBe(1);
      expect(ids(await store.list({ offset: 10 }))).toEqual([]);
      expect(ids(await store.list({ metadata: { team: "core" }, limit: 1, offset: 1 }))).toEqual([id("4")]);
      expect(ids(await store.list({ limit: 0 }))).toEqual([]);
    });

    it("breaks updated_at ties by thread id in code-unit order, as MongoDB sorts strings", async () => {
      for (const suffix of ["b", "B", "a", "C"]) await store.create(id(suffix), {});
      expect(ids(await store.list())).toEqual([id("B"), id("C"), id("a"), id("b")]);
    });

    it("matches a metadata filter value as a whole: key order ignored, no array element or missing-key matches", async () => {
      await store.create(id("A"), { tags: ["x", "y"], owner: { name: "ann", team: "core" }, flag: null, n: 1 });
      await store.create(id("B"), { tags: ["x"], owner: { team: "core", name: "ann" }, n: 2 });
      await store.create(id("C"), { tags: "x", owner: { name: "ann", team: "core", extra: true } });
      const matching = async (metadata: Record<string, unknown>) => ids(await store.list({ metadata })).sort();

      expect(await matching({ tags: "x" })).toEqual([id("C")]);
      expect(await matching({ tags: ["x"] })).toEqual([id("B")]);
      expect(await matching({ tags: ["y", "x"] })).toEqual([]);
      expect(await matching({ owner: { team: "core", name: "ann" } })).toEqual([id("A"), id("B")]);
      expect(await matching({ owner: { name: "ann" } })).toEqual([]);
      expect(await matching({ flag: null })).toEqual([id("A")]);
      expect(await matching({ n: 1, tags: ["x", "y"] })).toEqual([id("A")]);
      expect(await matching({ n: "1" })).toEqual([]);
      expect(await matching({})).toEqual([id("A"), id("B"), id("C")]);
    });

    it("updates status, display name and metadata, touching updated_at", async () => {
      await store.create(id("a"), { stage: "draft" });
      const updatedAt = clock.advance();
      const updated = await store.update(id("a"), { metadata: { stage: "final", reviewers: ["ann"] }, display_name: "Report" });
      expect(updated).toMatchObject({
        thread_id: id("a"),
        status: "idle",
        display_name: "Report",
        metadata: { stage: "final", reviewers: ["ann"] },
        updated_at: updatedAt,
      });
      expect(await store.get(id("a"))).toEqual(updated);
      expect(ids(await store.list({ metadata: { stage: "final" } }))).toEqual([id("a")]);
      expect(ids(await store.list({ metadata: { stage: "draft" } }))).toEqual([]);

      expect(await store.update(id("a"), { status: "interrupted" })).toMatchObject({ status: "interrupted", metadata: { stage: "final" } });
      expect(await store.update(id("missing"), { status: "idle" })).toBeUndefined();
      expect(await store.get(id("missing"))).toBeUndefined();
    });

    it("deletes a thread", async () => {
      await store.create(id("a"), {});
      await store.create(id("b"), {});
      expect(await store.delete(id("a"))).toBe(true);
      expect(await store.get(id("a"))).toBeUndefined();
      expect(await store.delete(id("a"))).toBe(false);
      expect(ids(await store.list())).toEqual([id("b")]);
      expect((await store.create(id("a"), { again: true })).created).toBe(true);
    });
  });
}

import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import type { RunRecord, RunStore } from "../../src/ports.js";

const ids = (runs: RunRecord[]): string[] => runs.map((r) => r.run_id);

/** A pending run whose request has what a document store may trip on: nested arrays, keys with '.' and '$'. */
export function pendingRun(runId: string, threadId: string, createdAt: Date, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    run_id: runId,
    thread_id: threadId,
    graph_id: "agent",
    status: "pending",
    error: null,
    attempt: 0,
    worker_id: null,
    lease_until: null,
    created_at: createdAt,
    started_at: null,
    ended_at: null,
    not_before: null,
    token_usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
    machine: null,
    request: {
      type: "run.create",
      run_id: runId,
      thread_id: threadId,
      graph_id: "agent",
      input: { messages: [["user", "hi"]], matrix: [[1, 2], [3]] },
      command: { update: [["count", 1]] },
      config: { configurable: { "model.name": "fake", $region: "eu" } },
      multitask_strategy: "enqueue",
    },
    ...overrides,
  };
}

/** The RunStore port's behaviour, shared by the in-memory store and MongoRunStore. `makeStore` returns an empty store. */
export function runStoreContract(name: string, makeStore: () => RunStore | Promise<RunStore>): void {
  describe(`RunStore contract: ${name}`, () => {
    let store: RunStore;
    let thread: string;
    let other: string;
    // Long past by any clock: leases that end at these times have lapsed.
    const at = (s: number): Date => new Date(Date.UTC(2025, 0, 1, 0, 0, s));
    const later = new Date(Date.UTC(2100, 0, 1));
    const nobody = { worker_id: null, attempt: 0 };
    /** A lease of `ms` granted between `before` and now, by the store's clock (the test's, on one machine). */
    const expectLeaseFromNow = (lease: Date | null | undefined, before: number, ms: number) => {
      expect(lease).toBeInstanceOf(Date);
      // A second either way for the rounding of dates to milliseconds and the server's clock.
      expect(lease!.getTime()).toBeGreaterThanOrEqual(before + ms - 1000);
      expect(lease!.getTime()).toBeLessThanOrEqual(Date.now() + ms + 1000);
    };

    beforeEach(async () => {
      store = await makeStore();
      thread = `t-${randomUUID()}`;
      other = `t-${randomUUID()}`;
    });

    it("creates a run once; a second create with the same id keeps the original", async () => {
      const run = pendingRun("run-1", thread, at(0));
      expect(await store.create(run)).toEqual({ run, created: true });
      const again = pendingRun("run-1", thread, at(5), { graph_id: "other", status: "running" });
      expect(await store.create(again)).toEqual({ run, created: false });
      expect(await store.get("run-1")).toEqual(run);
    });

    it("answers undefined or false for a run that does not exist", async () => {
      expect(await store.get("nope")).toBeUndefined();
      expect(await store.update("nope", nobody, { status: "running" })).toBe(false);
      expect(await store.delete("nope")).toBe(false);
      expect(await store.listByThread(thread)).toEqual([]);
      expect(await store.listPending(thread)).toEqual([]);
    });

    it("applies a patch for the run's owner only", async () => {
      const owner = { worker_id: "worker-a", attempt: 1 };
      const run = pendingRun("run-1", thread, at(0), owner);
      await store.create(run);
      const patch = {
        status: "running",
        lease_until: at(30),
        started_at: at(1),
        token_usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 },
      } as const;
      const running = { ...run, ...patch };
      expect(await store.update("run-1", owner, patch)).toBe(true);
      expect(await store.get("run-1")).toEqual(running);

      // Another worker, or the same worker in an earlier attempt, matches nothing.
      expect(await store.update("run-1", { worker_id: "worker-b", attempt: 1 }, { status: "success" })).toBe(false);
      expect(await store.update("run-1", { worker_id: "worker-a", attempt: 0 }, { status: "success" })).toBe(false);
      expect(await store.get("run-1")).toEqual(running);

      const ended = { ...running, status: "error", error: { name: "Boom", message: "it broke" }, lease_until: null, ended_at: at(9) } as const;
      expect(await store.update("run-1", owner, { status: "error", error: ended.error, lease_until: null, ended_at: at(9) })).toBe(true);
      expect(await store.update("run-1", owner, {})).toBe(true);
      expect(await store.update("run-1", nobody, {})).toBe(false);
      expect(await store.get("run-1")).toEqual(ended);
    });

    it("lists a thread's runs newest first, by status, up to a limit", async () => {
      await store.create(pendingRun("r1", thread, at(1), { status: "success" }));
      await store.create(pendingRun("r2", thread, at(2), { status: "error" }));
      await store.create(pendingRun("r3", other, at(3)));
      await store.create(pendingRun("r4", thread, at(4), { status: "success" }));
      await store.create(pendingRun("r5", thread, at(5)));

      expect(ids(await store.listByThread(thread))).toEqual(["r5", "r4", "r2", "r1"]);
      expect(ids(await store.listByThread(thread, { status: "success" }))).toEqual(["r4", "r1"]);
      expect(ids(await store.listByThread(thread, { limit: 2 }))).toEqual(["r5", "r4"]);
      expect(ids(await store.listByThread(thread, { status: "success", limit: 1 }))).toEqual(["r4"]);
      expect(ids(await store.listByThread(other))).toEqual(["r3"]);
    });

    it("orders runs created in the same millisecond by arrival", async () => {
      const same = at(7);
      const runs = Array.from({ length: 5 }, (_, i) => pendingRun(`same-${i}`, thread, same));
      await Promise.all(runs.map((run) => store.create(run)));
      expect(ids(await store.listByThread(thread))).toEqual(ids(runs).reverse());
    });

    it("keeps 30 runs enqueued at once in arrival order, and drops a run from the queue once it runs", async () => {
      const now = new Date();
      const runs = Array.from({ length: 30 }, (_, i) => pendingRun(`q-${String(29 - i).padStart(2, "0")}-${i}`, thread, now));
      await store.create(pendingRun("done", thread, now, { status: "success" }));
      await store.create(pendingRun("elsewhere", other, now));
      await Promise.all(runs.map((run) => store.create(run)));

      expect(ids(await store.listPending(thread))).toEqual(ids(runs));
      const [oldest, ...rest] = runs;
      expect(await store.update(oldest!.run_id, nobody, { status: "running" })).toBe(true);
      expect(ids(await store.listPending(thread))).toEqual(ids(rest));
      expect(await store.listPending(thread)).toEqual(rest);
    });

    it("deletes a run, and all of a thread's runs", async () => {
      await store.create(pendingRun("r1", thread, at(1)));
      await store.create(pendingRun("r2", thread, at(2)));
      await store.create(pendingRun("r3", thread, at(3)));
      await store.create(pendingRun("x1", other, at(1)));

      expect(await store.delete("r2")).toBe(true);
      expect(await store.get("r2")).toBeUndefined();
      expect(await store.deleteByThread(thread)).toBe(2);
      expect(await store.listByThread(thread)).toEqual([]);
      expect(await store.deleteByThread(thread)).toBe(0);
      expect(ids(await store.listByThread(other))).toEqual(["x1"]);
    });

    it("renews a lease from the store's clock, only for the owner of a held run", async () => {
      const owner = { worker_id: "w1", attempt: 1 };
      await store.create(pendingRun("r1", thread, at(1), { status: "running", ...owner, lease_until: at(10) }));
      const before = Date.now();
      expect(await store.renewLease("r1", owner, 60_000)).toBe(true);
      expectLeaseFromNow((await store.get("r1"))?.lease_until, before, 60_000);
      const renewed = (await store.get("r1"))?.lease_until;
      expect(await store.renewLease("r1", { worker_id: "w2", attempt: 1 }, 120_000)).toBe(false);
      expect(await store.renewLease("r1", { worker_id: "w1", attempt: 0 }, 120_000)).toBe(false);
      expect(await store.update("r1", owner, { status: "success" })).toBe(true);
      expect(await store.renewLease("r1", owner, 120_000)).toBe(false);
      expect((await store.get("r1"))?.lease_until).toEqual(renewed);
    });

    it("renews many leases in one call, only those the worker holds in their current attempt", async () => {
      await store.create(pendingRun("mine", thread, at(1), { status: "running", worker_id: "w1", attempt: 2, lease_until: at(10) }));
      await store.create(pendingRun("queued", thread, at(2), { status: "pending", worker_id: "w1", attempt: 1, lease_until: at(10) }));
      await store.create(pendingRun("theirs", thread, at(3), { status: "running", worker_id: "w2", attempt: 1, lease_until: at(10) }));
      await store.create(pendingRun("ended", thread, at(4), { status: "success", worker_id: "w1", attempt: 1, lease_until: at(10) }));
      // Taken over by w2 and handed back to w1 in a later attempt: w1's view of attempt 1 is stale.
      await store.create(pendingRun("stale", thread, at(5), { status: "running", worker_id: "w1", attempt: 3, lease_until: at(10) }));
      const mine = [
        { run_id: "mine", attempt: 2 },
        { run_id: "queued", attempt: 1 },
      ];
      const before = Date.now();
      const renewed = await store.renewLeases([...mine, { run_id: "theirs", attempt: 1 }, { run_id: "ended", attempt: 1 }, { run_id: "stale", attempt: 1 }, { run_id: "missing", attempt: 1 }], "w1", 60_000);
      expect([...renewed].sort()).toEqual(["mine", "queued"]);
      expectLeaseFromNow((await store.get("mine"))?.lease_until, before, 60_000);
      expectLeaseFromNow((await store.get("queued"))?.lease_until, before, 60_000);
      for (const id of ["theirs", "ended", "stale"]) expect((await store.get(id))?.lease_until).toEqual(at(10));
      expect([...(await store.renewLeases(mine, "w1", 60_000))].sort()).toEqual(["mine", "queued"]);
      expect(await store.renewLeases([], "w1", 60_000)).toEqual([]);
    });

    it("lists held runs whose lease lapsed by the store's clock, oldest lease first", async () => {
      await store.create(pendingRun("late", thread, at(1), { status: "running", worker_id: "w1", lease_until: at(5) }));
      await store.create(pendingRun("early", thread, at(2), { status: "rolling_back", worker_id: "w1", lease_until: at(3) }));
      await store.create(pendingRun("queued", other, at(3), { status: "pending", worker_id: "w1", lease_until: at(4) }));
      await store.create(pendingRun("fresh", thread, at(4), { status: "running", worker_id: "w1", lease_until: later }));
      await store.create(pendingRun("ended", thread, at(5), { status: "success", worker_id: "w1", lease_until: at(1) }));
      await store.create(pendingRun("never", thread, at(6)));

      expect(ids(await store.listExpiredLeases(10))).toEqual(["early", "queued", "late"]);
      expect(ids(await store.listExpiredLeases(2))).toEqual(["early", "queued"]);
    });

    it("lets exactly one of concurrent takeovers of a lapsed run win, and none of a changed or live one", async () => {
      const seen = pendingRun("r1", thread, at(1), { status: "running", worker_id: "dead", lease_until: at(5), attempt: 1 });
      await store.create(seen);
      const before = Date.now();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.takeOver(seen, { worker_id: `w${i}`, attempt: 2, leaseMs: 60_000 })),
      );
      const winners = results.filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      const stored = await store.get("r1");
      expect(stored).toMatchObject({ worker_id: winners[0]!.worker_id, attempt: 2 });
      expect(winners[0]).toEqual(stored);
      expectLeaseFromNow(stored?.lease_until, before, 60_000);
      // The record moved on: a takeover based on the old view gets nothing, and neither do the
      // stale owner's writes.
      expect(await store.takeOver(seen, { worker_id: "late", attempt: 2, leaseMs: 60_000 })).toBeUndefined();
      expect(await store.update("r1", { worker_id: "dead", attempt: 1 }, { status: "success" })).toBe(false);
      expect(await store.renewLease("r1", { worker_id: "dead", attempt: 1 }, 60_000)).toBe(false);
      // A lease that has not lapsed is not taken, even from an exact view of the record.
      expect(await store.takeOver(stored!, { worker_id: "eager", attempt: 3, leaseMs: 60_000 })).toBeUndefined();
    });

    it("keeps holding a run that ended while it finishes (end_seq set), until its lease is cleared", async () => {
      const owner = { worker_id: "w1", attempt: 1 };
      await store.create(pendingRun("r1", thread, at(1), { status: "running", ...owner, lease_until: later }));
      expect(await store.update("r1", owner, { status: "interrupted", ended_at: at(9), end_seq: 7 })).toBe(true);
      expect((await store.get("r1"))?.end_seq).toBe(7);
      expect(await store.renewLease("r1", owner, 60_000)).toBe(true);

      await store.create(pendingRun("r2", thread, at(2), { status: "interrupted", ...owner, end_seq: 7, lease_until: at(10) }));
      expect(ids(await store.listExpiredLeases(10))).toEqual(["r2"]);
      const seen = (await store.get("r2"))!;
      const taken = await store.takeOver(seen, { worker_id: "w2", attempt: seen.attempt, leaseMs: 60_000 });
      expect(taken).toMatchObject({ worker_id: "w2", status: "interrupted", end_seq: 7 });
      const taker = { worker_id: "w2", attempt: seen.attempt };
      expect(await store.update("r2", owner, { lease_until: null })).toBe(false);
      expect(await store.update("r2", taker, { lease_until: null })).toBe(true);
      expect(await store.renewLease("r2", taker, 60_000)).toBe(false);
      expect(await store.listExpiredLeases(10)).toEqual([]);
      expect((await store.get("r2"))?.lease_until).toBeNull();
    });

    it("ends many finished runs' leases in one call, each only where its owner still owns it", async () => {
      const owner = { worker_id: "w1", attempt: 1 };
      await store.create(pendingRun("r1", thread, at(1), { status: "success", ...owner, end_seq: 3, lease_until: later }));
      await store.create(pendingRun("r2", thread, at(2), { status: "error", ...owner, end_seq: 4, lease_until: later }));
      await store.create(pendingRun("taken", thread, at(3), { status: "success", worker_id: "w2", attempt: 1, end_seq: 5, lease_until: later }));
      await store.endLeases([]);
      await store.endLeases([
        { run_id: "r1", owner },
        { run_id: "r2", owner },
        { run_id: "taken", owner },
        { run_id: "missing", owner },
      ]);
      expect((await store.get("r1"))?.lease_until).toBeNull();
      expect((await store.get("r2"))?.lease_until).toBeNull();
      expect((await store.get("taken"))?.lease_until).toEqual(later);
      await store.endLeases([{ run_id: "taken", owner: { worker_id: "w2", attempt: 1 } }]);
      expect((await store.get("taken"))?.lease_until).toBeNull();
    });

    it("stores a cancel on a live run only, and never lets an interrupt replace a stored rollback", async () => {
      await store.create(pendingRun("live", thread, at(1), { status: "running", worker_id: "w1", attempt: 1 }));
      await store.create(pendingRun("ended", thread, at(2), { status: "success", worker_id: "w1", attempt: 1 }));
      expect(await store.requestCancel("missing", { action: "interrupt", at: at(5) })).toBeUndefined();
      expect((await store.requestCancel("ended", { action: "interrupt", at: at(5) }))?.cancel_requested ?? null).toBeNull();

      expect((await store.requestCancel("live", { action: "interrupt", at: at(5) }))?.cancel_requested).toEqual({ action: "interrupt", at: at(5) });
      expect((await store.requestCancel("live", { action: "rollback", at: at(6) }))?.cancel_requested).toEqual({ action: "rollback", at: at(6) });
      expect((await store.requestCancel("live", { action: "interrupt", at: at(7) }))?.cancel_requested).toEqual({ action: "rollback", at: at(6) });
      // Stored without disturbing the owner's fenced writes.
      expect(await store.update("live", { worker_id: "w1", attempt: 1 }, { status: "interrupted" })).toBe(true);
      expect(await store.get("live")).toMatchObject({ status: "interrupted", cancel_requested: { action: "rollback", at: at(6) } });
    });

    it("stores many runs' token usage in one call, each only for its owner", async () => {
      await store.create(pendingRun("a", thread, at(1), { status: "running", worker_id: "w1", attempt: 1 }));
      await store.create(pendingRun("b", thread, at(2), { status: "running", worker_id: "w2", attempt: 2 }));
      const usage = { input_tokens: 3, output_tokens: 4, total_tokens: 7 };
      await store.recordUsage([
        { run_id: "a", owner: { worker_id: "w1", attempt: 1 }, token_usage: usage },
        { run_id: "b", owner: { worker_id: "w2", attempt: 1 }, token_usage: usage },
        { run_id: "missing", owner: { worker_id: "w1", attempt: 1 }, token_usage: usage },
      ]);
      await store.recordUsage([]);
      expect((await store.get("a"))?.token_usage).toEqual(usage);
      expect((await store.get("b"))?.token_usage).toEqual({ input_tokens: 0, output_tokens: 0, total_tokens: 0 });
    });

    it("keeps the machine snapshot it is given", async () => {
      await store.create(pendingRun("r1", thread, at(1)));
      expect(await store.update("r1", nobody, { machine: '{"snapshot":{"value":"pending"},"capture":null}' })).toBe(true);
      expect((await store.get("r1"))?.machine).toBe('{"snapshot":{"value":"pending"},"capture":null}');
    });
  });
}

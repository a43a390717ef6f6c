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
    const at = (s: number): Date => new Date(Date.UTC(2025, 0, 1, 0, 0, s));

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
      expect(await store.update("nope", { status: "running" })).toBeUndefined();
      expect(await store.delete("nope")).toBe(false);
      expect(await store.listByThread(thread)).toEqual([]);
      expect(await store.listPending(thread)).toEqual([]);
    });

    it("applies a patch and returns the updated run", async () => {
      const run = pendingRun("run-1", thread, at(0));
      await store.create(run);
      const patch = {
        status: "running",
        attempt: 1,
        worker_id: "worker-a",
        lease_until: at(30),
        started_at: at(1),
        token_usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 },
      } as const;
      const running = { ...run, ...patch };
      expect(await store.update("run-1", patch)).toEqual(running);
      expect(await store.get("run-1")).toEqual(running);

      const ended = { ...running, status: "error", error: { name: "Boom", message: "it broke" }, worker_id: null, lease_until: null, ended_at: at(9) } as const;
      expect(await store.update("run-1", { status: "error", error: ended.error, worker_id: null, lease_until: null, ended_at: at(9) })).toEqual(ended);
      expect(await store.update("run-1", {})).toEqual(ended);
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
      await store.update(oldest!.run_id, { status: "running" });
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

    it("renews a lease only for the worker holding a live run", async () => {
      await store.create(pendingRun("r1", thread, at(1), { status: "running", worker_id: "w1", lease_until: at(10) }));
      expect(await store.renewLease("r1", "w1", at(20))).toBe(true);
      expect((await store.get("r1"))?.lease_until).toEqual(at(20));
      expect(await store.renewLease("r1", "w2", at(30))).toBe(false);
      await store.update("r1", { status: "success" });
      expect(await store.renewLease("r1", "w1", at(40))).toBe(false);
      expect((await store.get("r1"))?.lease_until).toEqual(at(20));
    });

    it("renews many leases in one call, only those the worker holds on live runs", async () => {
      await store.create(pendingRun("mine", thread, at(1), { status: "running", worker_id: "w1", lease_until: at(10) }));
      await store.create(pendingRun("queued", thread, at(2), { status: "pending", worker_id: "w1", lease_until: at(10) }));
      await store.create(pendingRun("theirs", thread, at(3), { status: "running", worker_id: "w2", lease_until: at(10) }));
      await store.create(pendingRun("ended", thread, at(4), { status: "success", worker_id: "w1", lease_until: at(10) }));
      const renewed = await store.renewLeases(["mine", "queued", "theirs", "ended", "missing"], "w1", at(20));
      expect([...renewed].sort()).toEqual(["mine", "queued"]);
      expect((await store.get("mine"))?.lease_until).toEqual(at(20));
      expect((await store.get("queued"))?.lease_until).toEqual(at(20));
      expect((await store.get("theirs"))?.lease_until).toEqual(at(10));
      expect((await store.get("ended"))?.lease_until).toEqual(at(10));
      expect(await store.renewLeases(["mine", "queued"], "w1", at(30))).toEqual(["mine", "queued"]);
      expect(await store.renewLeases([], "w1", at(40))).toEqual([]);
    });

    it("lists live runs whose lease expired, oldest lease first", async () => {
      await store.create(pendingRun("late", thread, at(1), { status: "running", worker_id: "w1", lease_until: at(5) }));
      await store.create(pendingRun("early", thread, at(2), { status: "rolling_back", worker_id: "w1", lease_until: at(3) }));
      await store.create(pendingRun("queued", other, at(3), { status: "pending", worker_id: "w1", lease_until: at(4) }));
      await store.create(pendingRun("fresh", thread, at(4), { status: "running", worker_id: "w1", lease_until: at(100) }));
      await store.create(pendingRun("ended", thread, at(5), { status: "success", worker_id: "w1", lease_until: at(1) }));
      await store.create(pendingRun("never", thread, at(6)));

      expect(ids(await store.listExpiredLeases(at(50), 10))).toEqual(["early", "queued", "late"]);
      expect(ids(await store.listExpiredLeases(at(50), 2))).toEqual(["early", "queued"]);
    });

    it("lets exactly one of concurrent takeovers of an expired run win, and none of a changed one", async () => {
      const seen = pendingRun("r1", thread, at(1), { status: "running", worker_id: "dead", lease_until: at(5), attempt: 1 });
      await store.create(seen);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.takeOver(seen, { worker_id: `w${i}`, lease_until: at(60), attempt: 2 })),
      );
      const winners = results.filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      expect(await store.get("r1")).toMatchObject({ worker_id: winners[0]!.worker_id, attempt: 2, lease_until: at(60) });
      // The record moved on: a takeover based on the old view gets nothing.
      expect(await store.takeOver(seen, { worker_id: "late", lease_until: at(70), attempt: 2 })).toBeUndefined();
    });

    it("keeps holding a run that ended while it finishes (end_seq set), until its lease is cleared", async () => {
      await store.create(pendingRun("r1", thread, at(1), { status: "running", worker_id: "w1", lease_until: at(10) }));
      await store.update("r1", { status: "interrupted", ended_at: at(9), end_seq: 7 });
      expect((await store.get("r1"))?.end_seq).toBe(7);
      expect(await store.renewLease("r1", "w1", at(20))).toBe(true);
      expect(ids(await store.listExpiredLeases(at(50), 10))).toEqual(["r1"]);
      const seen = (await store.get("r1"))!;
      expect(await store.takeOver(seen, { worker_id: "w2", lease_until: at(60), attempt: seen.attempt })).toMatchObject({
        worker_id: "w2",
        status: "interrupted",
        end_seq: 7,
      });
      await store.update("r1", { lease_until: null });
      expect(await store.renewLease("r1", "w2", at(70))).toBe(false);
      expect(await store.listExpiredLeases(at(100), 10)).toEqual([]);
      expect((await store.get("r1"))?.lease_until).toBeNull();
    });

    it("keeps the machine snapshot it is given", async () => {
      await store.create(pendingRun("r1", thread, at(1)));
      await store.update("r1", { machine: '{"snapshot":{"value":"pending"},"capture":null}' });
      expect((await store.get("r1"))?.machine).toBe('{"snapshot":{"value":"pending"},"capture":null}');
    });
  });
}

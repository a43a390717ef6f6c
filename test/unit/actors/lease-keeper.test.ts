import { describe, expect, it } from "vitest";
import { LeaseKeeper } from "../../../src/actors/lease-keeper.js";
import type { RunActor } from "../../../src/actors/run-actor.js";
import { silentLogger } from "../../../src/logger.js";
import type { Clock, RunStore } from "../../../src/ports.js";

const LEASE_MS = 3000;

class HandClock implements Clock {
  constructor(public ms = 1_000_000) {}
  now(): Date {
    return new Date(this.ms);
  }
}

/** What the keeper reads of a run actor, with its lease ending at `deadline` by the worker's clock. */
function fakeRun(clock: HandClock, deadline: number) {
  const run = {
    runId: "r1",
    owner: { worker_id: "w1", attempt: 1 },
    needsLease: true,
    fenced: false,
    leaseDeadline: new Date(deadline),
    get mayStartWrite() {
      return clock.ms + LEASE_MS / 4 <= this.leaseDeadline.getTime();
    },
    extendLease(until: Date) {
      this.leaseDeadline = until;
    },
    fence() {
      this.fenced = true;
      this.needsLease = false;
    },
  };
  return run;
}

function keeper(clock: HandClock, renewLeases: RunStore["renewLeases"], run: ReturnType<typeof fakeRun>) {
  return new LeaseKeeper(
    { runs: { renewLeases } as RunStore, clock, logger: silentLogger(), workerId: "w1", hosted: () => [run as unknown as RunActor] },
    LEASE_MS,
  );
}

describe("LeaseKeeper", () => {
  it("renews a run's lease from the time the renewal was sent", async () => {
    const clock = new HandClock();
    const run = fakeRun(clock, clock.ms + LEASE_MS);
    clock.ms += 1000;
    await keeper(clock, async () => ["r1"], run).renewAll();
    expect(run.leaseDeadline.getTime()).toBe(clock.ms + LEASE_MS);
    expect(run.fenced).toBe(false);
  });

  it("stops a run before its lease lapses when renewals keep failing", async () => {
    const clock = new HandClock();
    const start = clock.ms;
    const run = fakeRun(clock, start + LEASE_MS);
    const keeps = keeper(clock, async () => Promise.reject(new Error("server selection timed out")), run);
    // Ticks every third of a lease: the first failure leaves room for another try, the second does not.
    clock.ms = start + LEASE_MS / 3;
    await keeps.renewAll();
    expect(run.fenced).toBe(false);
    clock.ms = start + (2 * LEASE_MS) / 3;
    await keeps.renewAll();
    expect(run.fenced).toBe(true);
    expect(clock.ms).toBeLessThan(start + LEASE_MS);
  });

  it("stops a run before its lease lapses when a renewal never answers", async () => {
    const clock = new HandClock();
    const start = clock.ms;
    const run = fakeRun(clock, start + LEASE_MS);
    const keeps = keeper(clock, () => new Promise<string[]>(() => undefined), run);
    clock.ms = start + LEASE_MS / 3;
    void keeps.renewAll();
    await Promise.resolve();
    expect(run.fenced).toBe(false);
    clock.ms = start + (2 * LEASE_MS) / 3;
    await keeps.renewAll();
    expect(run.fenced).toBe(true);
  });

  it("stops a run whose renewal another worker's takeover refused", async () => {
    const clock = new HandClock();
    const run = fakeRun(clock, clock.ms + LEASE_MS);
    await keeper(clock, async () => [], run).renewAll();
    expect(run.fenced).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { EmitWindow } from "../../../src/graph/emit-window.js";

/** A promise settled from outside, like a broker's acknowledgement. */
function ack(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settled = (promise: Promise<unknown>) =>
  Promise.race([promise.then(() => true, () => true), new Promise((r) => setTimeout(() => r(false), 20))]);

describe("EmitWindow", () => {
  it("lets up to `size` emits be unacknowledged, then waits for the oldest", async () => {
    const window = new EmitWindow(3);
    const acks = [ack(), ack(), ack(), ack()];
    await window.push(acks[0]!.promise);
    await window.push(acks[1]!.promise);
    const third = window.push(acks[2]!.promise);
    expect(await settled(third)).toBe(false);
    acks[0]!.resolve();
    expect(await settled(third)).toBe(true);
    const fourth = window.push(acks[3]!.promise);
    expect(await settled(fourth)).toBe(false);
    acks[1]!.resolve();
    await fourth;
  });

  it("drain waits for every emit and throws the first failure", async () => {
    const window = new EmitWindow(10);
    const first = ack();
    const second = ack();
    await window.push(first.promise);
    await window.push(second.promise);
    const drained = window.drain();
    expect(await settled(drained)).toBe(false);
    second.reject(new Error("broker gone"));
    first.resolve();
    await expect(drained).rejects.toThrow("broker gone");
  });

  it("a failure is thrown by the next push", async () => {
    const window = new EmitWindow(10);
    await window.push(Promise.reject(new Error("lease lost")));
    await new Promise((r) => setImmediate(r));
    await expect(window.push(Promise.resolve())).rejects.toThrow("lease lost");
  });
});

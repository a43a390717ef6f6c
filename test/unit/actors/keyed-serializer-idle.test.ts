import { describe, expect, it } from "vitest";
import { KeyedSerializer } from "../../../src/actors/keyed-serializer.js";

describe("KeyedSerializer, once a key is idle", () => {
  it("keeps nothing for it, whether its jobs succeeded, failed or threw at once", async () => {
    const serializer = new KeyedSerializer();
    const jobs = Array.from({ length: 300 }, (_, i) => {
      const key = `k-${i % 100}`;
      if (i % 3 === 0) return serializer.run(key, async () => i);
      if (i % 3 === 1) return serializer.run(key, () => Promise.reject(new Error(`job ${i}`)));
      return serializer.runAll([key, `k-${(i + 1) % 100}`], () => {
        throw new Error(`job ${i}`);
      });
    });
    const outcomes = await Promise.allSettled(jobs);
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(100);
    expect(serializer.size).toBe(0);
  });
});

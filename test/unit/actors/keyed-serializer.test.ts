import { describe, expect, it } from "vitest";
import { KeyedSerializer } from "../../../src/actors/keyed-serializer.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("KeyedSerializer", () => {
  it("runs one job at a time per key, in call order, and keys in parallel", async () => {
    const serializer = new KeyedSerializer();
    const log: string[] = [];
    const job = (name: string) => async () => {
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
    };
    await Promise.all([serializer.run("a", job("a1")), serializer.run("a", job("a2")), serializer.run("b", job("b1"))]);
    expect(log.indexOf("end a1")).toBeLessThan(log.indexOf("start a2"));
    expect(log.indexOf("start b1")).toBeLessThan(log.indexOf("end a1"));
    expect(serializer.size).toBe(0);
  });

  it("runAll waits for every key's queued work, and work queued after it on any key waits for it", async () => {
    const serializer = new KeyedSerializer();
    const log: string[] = [];
    const job = (name: string) => async () => {
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([
      serializer.run("a", job("a1")),
      serializer.run("b", job("b1")),
      serializer.runAll(["a", "b", "a"], job("all")),
      serializer.run("b", job("b2")),
      serializer.run("c", job("c1")),
    ]);
    expect(results).toEqual(["a1", "b1", "all", "b2", "c1"]);
    expect(log.indexOf("start all")).toBeGreaterThan(Math.max(log.indexOf("end a1"), log.indexOf("end b1")));
    expect(log.indexOf("start b2")).toBeGreaterThan(log.indexOf("end all"));
    expect(log.indexOf("start c1")).toBeLessThan(log.indexOf("end all"));
    expect(serializer.size).toBe(0);
  });
});

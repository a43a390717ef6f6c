import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { answers, condition, evaluate, eventLoopLag, recentEnough } from "../../../src/ops/health.js";

describe("health checks", () => {
  it("reports every check, ok only when all hold, with the reasons of those that do not", async () => {
    const report = await evaluate([
      condition("joined", () => true, "not joined"),
      condition("consumer", () => false, "the command consumer is not in its group"),
      answers("kafka", () => Promise.reject(new Error("connection refused"))),
      answers("mongodb", () => new Promise(() => undefined), 50),
    ]);
    expect(report).toEqual({
      ok: false,
      checks: [
        { name: "joined", ok: true },
        { name: "consumer", ok: false, reason: "the command consumer is not in its group" },
        { name: "kafka", ok: false, reason: "connection refused" },
        { name: "mongodb", ok: false, reason: "no answer within 50 ms" },
      ],
    });
  });

  it("tells a stale heartbeat from a recent one, and holds while there is none yet", async () => {
    expect(await recentEnough("hb", "the consumer last heartbeat", () => Date.now() - 40_000, 30_000).run()).toMatch(/^the consumer last heartbeat 40 s ago \(threshold 30 s\)$/);
    expect(await recentEnough("hb", "x", () => Date.now() - 1000, 30_000).run()).toBeNull();
    expect(await recentEnough("hb", "x", () => null, 30_000).run()).toBeNull();
  });

  it("sees an event loop blocked past its threshold", async () => {
    const lag = eventLoopLag(100);
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const end = Date.now() + 300;
      while (Date.now() < end) {
        // Blocks the loop, as a stuck worker would.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await lag.run()).toMatch(/^the event loop was blocked for \d+ ms \(threshold 100 ms\)$/);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await lag.run()).toBeNull();
    } finally {
      lag.stop();
    }
  });
});

describe("operations settings", () => {
  it("listens on 127.0.0.1:9464 by default; RUNBUS_METRICS_PORT=off turns it off", () => {
    expect(loadConfig({}).metrics).toEqual({ port: 9464, host: "127.0.0.1" });
    expect(loadConfig({ RUNBUS_METRICS_PORT: "off" }).metrics.port).toBeNull();
    expect(loadConfig({ RUNBUS_METRICS_PORT: "0", RUNBUS_METRICS_HOST: "0.0.0.0" }).metrics).toEqual({ port: 0, host: "0.0.0.0" });
    expect(() => loadConfig({ RUNBUS_METRICS_PORT: "70000" })).toThrow(/metrics.port/);
  });
});

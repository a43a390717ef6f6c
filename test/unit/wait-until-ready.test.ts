import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { waitUntilReady } from "../../src/wait-until-ready.js";

function capturingLogger() {
  const lines: Array<{ msg: string; level: number; retryInMs?: number }> = [];
  const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe("waitUntilReady", () => {
  it("retries with growing delays, one clear line per failure, until the attempt succeeds", async () => {
    const { logger, lines } = capturingLogger();
    let calls = 0;
    const result = await waitUntilReady(
      "Kafka at 127.0.0.1:1",
      async () => {
        calls++;
        if (calls < 4) throw new Error("ECONNREFUSED");
        return "connected";
      },
      { logger, initialDelayMs: 5, maxDelayMs: 12 },
    );
    expect(result).toBe("connected");
    expect(calls).toBe(4);
    const waits = lines.filter((l) => l.msg.startsWith("waiting for"));
    expect(waits.map((l) => l.msg)).toEqual(Array(3).fill("waiting for Kafka at 127.0.0.1:1: ECONNREFUSED"));
    expect(waits.map((l) => l.retryInMs)).toEqual([5, 10, 12]);
    expect(lines.at(-1)?.msg).toBe("Kafka at 127.0.0.1:1 is available");
  });

  it("stops waiting when its signal aborts, with the last error", async () => {
    const { logger } = capturingLogger();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await expect(
      waitUntilReady("MongoDB", () => Promise.reject(new Error("down")), { logger, signal: controller.signal, initialDelayMs: 1000 }),
    ).rejects.toThrow("down");
  });
});

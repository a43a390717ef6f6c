import { describe, expect, inject, it } from "vitest";
import { runChaos } from "./chaos.js";

/**
 * The chaos scenario at CI size (the full one is `npm run chaos`): three worker processes, one
 * SIGKILLed every 2.5 s and replaced, and one broker restart, while 80 runs over 16 threads are
 * created and some cancelled. It runs in a vitest project of its own, after the others, so the
 * broker it restarts and the load it makes are its own. With a broker from RUNBUS_KAFKA_BROKERS
 * or Docker there is no local broker to restart, and the report says so.
 */
describe("chaos: workers killed and the broker restarted under load", () => {
  it("ends every accepted run exactly once, with gapless streams, valid audit paths and one active run per thread", async () => {
    const servers = { brokers: inject("kafkaBrokers"), mongodbUri: inject("mongodbUri"), kafkaWorkdir: inject("kafkaWorkdir") };
    const lines: string[] = [];
    const report = await runChaos(
      { workers: 3, runs: 80, threads: 16, killEveryMs: 2500, loadWindowMs: 30_000, brokerRestart: true, durationLimitMs: 240_000 },
      servers,
      { log: (line) => lines.push(line) },
    );
    console.log(`[chaos] ${JSON.stringify(report.figures)}`);
    for (const note of report.notes) console.log(`[chaos] note: ${note}`);
    expect(report.failures, `seed ${report.figures.seed}, worker logs in ${report.logDir}\n${lines.join("\n")}`).toEqual([]);
    const { figures } = report;
    expect(figures.accepted).toBeGreaterThan(0);
    expect(figures.unanswered).toBe(0);
    expect(figures.kills).toBeGreaterThanOrEqual(1);
    expect(figures.allTerminalAfterMs).not.toBeNull();
    if (servers.kafkaWorkdir) expect(figures.brokerRestarts).toBe(1);
  });
});

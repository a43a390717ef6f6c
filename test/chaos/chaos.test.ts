import { describe, expect, inject, it } from "vitest";
import { runChaos } from "./chaos.js";

/**
 * The chaos scenario at CI size (the full one is `npm run chaos`): three worker processes, one
 * SIGKILLed and replaced whenever a kill is due (every 4 s; at least 2 kills), and one broker
 * restart, while 80 runs over 16 threads are created over 50 s and some cancelled. It runs in a
 * vitest project of its own, after the others, so the broker it restarts and the load it makes are
 * its own. With a broker from RUNBUS_KAFKA_BROKERS or Docker there is no local broker to restart,
 * and the report says so.
 */
describe("chaos: workers killed and the broker restarted under load", () => {
  it("ends every accepted run exactly once, with gapless streams, valid audit paths, one active run per thread and no step re-run without a kill", async () => {
    const servers = { brokers: inject("kafkaBrokers"), mongodbUri: inject("mongodbUri"), kafkaWorkdir: inject("kafkaWorkdir") };
    const lines: string[] = [];
    const report = await runChaos(
      { workers: 3, runs: 80, threads: 16, killEveryMs: 4000, minKills: 2, loadWindowMs: 50_000, leaseMs: 6000, brokerRestart: true, durationLimitMs: 240_000 },
      servers,
      { log: (line) => lines.push(line) },
    );
    console.log(`[chaos] ${JSON.stringify(report.figures)}`);
    for (const note of report.notes) console.log(`[chaos] note: ${note}`);
    expect(report.failures, `seed ${report.figures.seed}, worker logs in ${report.logDir}\n${lines.join("\n")}`).toEqual([]);
    const { figures } = report;
    expect(figures.accepted).toBeGreaterThan(0);
    expect(figures.unanswered).toBe(0);
    expect(figures.kills).toBeGreaterThanOrEqual(2);
    expect(figures.resumedWithoutKill).toBe(0);
    expect(figures.toolExecutions).toBeGreaterThan(0);
    expect(figures.toolExecutionsDuplicated).toBe(0);
    expect(figures.maxKillToTakeoverMs ?? 0).toBeLessThanOrEqual(figures.maxKillToTakeoverLimitMs);
    expect(figures.allTerminalAfterMs).not.toBeNull();
    if (servers.kafkaWorkdir) expect(figures.brokerRestarts).toBe(1);
  });
});

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/logger.js";
import { RunbusMetrics } from "../../src/ops/metrics.js";
import { OpsServer } from "../../src/ops/ops-server.js";
import { Worker } from "../../src/worker.js";
import { testGraphs } from "../fixtures/graphs.js";
import { memoryStores, uniquePrefix } from "../helpers/kafka-worker.js";
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

/**
 * In this project's file, after the chaos run and never beside it: it stops the project's broker
 * (the integration files share theirs, so they cannot).
 */
describe("readiness follows the broker", () => {
  it("turns /readyz 503 within 5 s of the broker stopping and 200 again once it is back", async () => {
    const workdir = inject("kafkaWorkdir");
    if (!workdir) {
      console.log("[readiness] the broker came from RUNBUS_KAFKA_BROKERS or Docker: none of ours to stop");
      return;
    }
    const config = loadConfig({}, { kafka: { brokers: inject("kafkaBrokers") }, topicPrefix: uniquePrefix(), commandPartitions: 2 });
    const metrics = new RunbusMetrics();
    const worker = await Worker.create(config, { graphs: testGraphs, logger: silentLogger(), stores: memoryStores(), metrics });
    await worker.start();
    const ops = await OpsServer.start({ port: 0, host: "127.0.0.1", metrics, liveness: worker.checks!.liveness, readiness: worker.checks!.readiness, logger: silentLogger() });
    const readyz = async () => (await fetch(`${ops.url}/readyz`)).status;
    try {
      await expect.poll(readyz, { timeout: 30_000, interval: 250 }).toBe(200);

      const pid = Number(readFileSync(join(workdir, "kafka.pid"), "utf8").trim());
      process.kill(pid, "SIGTERM");
      await expect.poll(() => alive(pid), { timeout: 60_000, interval: 100 }).toBe(false);
      const stoppedAt = Date.now();
      await expect.poll(readyz, { timeout: 5000, interval: 100 }).toBe(503);
      console.log(`[readiness] 503 ${Date.now() - stoppedAt} ms after the broker stopped`);

      // kafka.pid still names the stopped process: restart.sh finds it gone and starts the broker again.
      await promisify(execFile)("bash", [resolve(import.meta.dirname, "../../tools/kafka/restart.sh"), workdir], { timeout: 120_000 });
      const restartedAt = Date.now();
      await expect.poll(readyz, { timeout: 90_000, interval: 250 }).toBe(200);
      console.log(`[readiness] 200 again ${Date.now() - restartedAt} ms after the broker was back`);
    } finally {
      await ops.close();
      await worker.stop(1000);
    }
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}


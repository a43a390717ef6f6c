/**
 * `npm run chaos`: the full chaos scenario. Uses RUNBUS_KAFKA_BROKERS / RUNBUS_MONGODB_URI when
 * set; otherwise starts the project's own local Kafka and secantusd-rs (tools/{kafka,secantus}/start.sh)
 * and stops them by pid at the end. Prints the figures as JSON; exits 1 when an assertion failed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messageOf } from "../../src/errors.js";
import { missingLocalKafka, missingLocalSecantus, startLocalKafka, startLocalSecantus, type StartedServer } from "../harness/local-servers.js";
import { runChaos, type ChaosConfig } from "./chaos.js";

const FULL_CONFIG: ChaosConfig = {
  workers: 3,
  runs: 400,
  threads: 50,
  // A kill is due every 4 s through the 120 s window, but waits while it would leave no started
  // worker: a replacement starts only once the consumer group has let its killed member's session
  // lapse (15 s), and not at all while the broker restarts: about one kill per 7–9 s.
  killEveryMs: 4000,
  minKills: 8,
  brokerRestart: true,
  durationLimitMs: 900_000,
  loadWindowMs: 120_000,
  // Short, for quick takeovers: renewals on an atomic store take milliseconds.
  leaseMs: 6000,
  maxKillToTakeoverMs: 6000 + 3000,
  ...(process.env.RUNBUS_CHAOS_SEED ? { seed: Number(process.env.RUNBUS_CHAOS_SEED) } : {}),
};

async function main(): Promise<number> {
  const started: StartedServer[] = [];
  const workdir = mkdtempSync(join(tmpdir(), "runbus-chaos-servers-"));
  // Ctrl-C or a crash must not leave the servers behind: they die with us, by pid.
  const killServers = () => {
    for (const server of started) if (server.pid > 0) try { process.kill(server.pid, "SIGKILL"); } catch { /* already gone */ }
  };
  process.once("exit", killServers);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killServers();
      process.exit(130);
    });
  }
  try {
    let brokers = process.env.RUNBUS_KAFKA_BROKERS?.split(",").map((b) => b.trim()).filter(Boolean) ?? [];
    let kafkaWorkdir: string | null = null;
    if (brokers.length === 0) {
      const missing = missingLocalKafka();
      if (missing) throw new Error(`RUNBUS_KAFKA_BROKERS is not set and the local broker is not installed: missing ${missing}. Run \`npm run servers:install\`.`);
      const kafka = await startLocalKafka(join(workdir, "kafka"));
      started.push(kafka);
      brokers = [kafka.address];
      kafkaWorkdir = kafka.workdir;
    }
    let mongodbUri = process.env.RUNBUS_MONGODB_URI ?? "";
    if (!mongodbUri) {
      const missing = missingLocalSecantus();
      if (missing) throw new Error(`RUNBUS_MONGODB_URI is not set and the local MongoDB-compatible server is not installed: missing ${missing}. Run \`npm run servers:install\`.`);
      const secantus = await startLocalSecantus(join(workdir, "secantus"));
      started.push(secantus);
      mongodbUri = secantus.address;
    }
    process.stdout.write(`[chaos] Kafka ${brokers.join(",")} (${kafkaWorkdir ? "local, restartable" : "from RUNBUS_KAFKA_BROKERS"}), MongoDB ${mongodbUri.replace(/\/\/[^@/]+@/, "//[redacted]@")}\n`);

    const report = await runChaos(FULL_CONFIG, { brokers, mongodbUri, kafkaWorkdir });
    process.stdout.write(`${JSON.stringify(report.figures, null, 2)}\n`);
    for (const note of report.notes) process.stdout.write(`[chaos] note: ${note}\n`);
    if (report.failures.length > 0) {
      process.stdout.write(`[chaos] FAILED: ${report.failures.length} broken assertions (worker logs: ${report.logDir})\n`);
      for (const failure of report.failures) process.stdout.write(`  - ${failure}\n`);
      return 1;
    }
    process.stdout.write(`[chaos] passed (worker logs: ${report.logDir})\n`);
    return 0;
  } finally {
    await Promise.allSettled(started.map((server) => server.stop()));
    process.off("exit", killServers);
    rmSync(workdir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[chaos] ${messageOf(error)}\n`);
    process.exit(2);
  },
);

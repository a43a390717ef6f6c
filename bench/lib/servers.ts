/**
 * The Kafka broker and MongoDB-compatible server the benchmarks talk to: RUNBUS_KAFKA_BROKERS /
 * RUNBUS_MONGODB_URI when set, else the project's own local Kafka 3.9.1 and secantusd-rs (started
 * as the integration harness starts them, stopped by pid at the end, on error and on SIGINT).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeKafka } from "../../src/adapters/kafka/probe.js";
import { probeMongo } from "../../src/adapters/mongo/probe.js";
import { LOCAL_MONGO_SERVER, missingLocalKafka, missingLocalSecantus, startLocalKafka, startLocalSecantus, type StartedServer } from "../../test/harness/local-servers.js";
import { onExit } from "./cleanup.js";
import { log, resultsDir } from "./env.js";

export interface BenchServers {
  brokers: string[];
  mongodbUri: string;
  sources: { kafka: "env" | "local"; mongodb: "env" | "local" };
  /** The local servers' process ids now (none for servers from the environment), for CPU accounting. */
  pids(): { kafka?: number; mongodb?: number };
  stop(): Promise<void>;
}

export async function startServers(): Promise<BenchServers> {
  const started: StartedServer[] = [];
  const workdir = mkdtempSync(join(tmpdir(), "runbus-bench-"));
  const killAll = () => {
    for (const server of started) {
      try {
        process.kill(server.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    rmSync(workdir, { recursive: true, force: true });
  };
  const unregister = onExit(killAll);
  const stop = async () => {
    unregister();
    await Promise.allSettled(started.map((server) => server.stop()));
    keepServerLogs(workdir);
    rmSync(workdir, { recursive: true, force: true });
  };
  try {
    const envKafka = process.env.RUNBUS_KAFKA_BROKERS;
    const envMongo = process.env.RUNBUS_MONGODB_URI;
    let brokers: string[];
    let kafkaServer: StartedServer | undefined;
    let mongoServer: StartedServer | undefined;
    if (envKafka) {
      brokers = envKafka.split(",").map((b) => b.trim()).filter(Boolean);
    } else {
      const missing = missingLocalKafka();
      if (missing) throw new Error(`No Kafka broker: RUNBUS_KAFKA_BROKERS is unset and the local broker is not installed: missing ${missing}. Run \`npm run servers:install\`.`);
      log("starting the local Kafka broker");
      const server = await startLocalKafka(join(workdir, "kafka"));
      started.push(server);
      kafkaServer = server;
      brokers = [server.address];
    }
    let mongodbUri: string;
    if (envMongo) {
      mongodbUri = envMongo;
    } else {
      const missing = missingLocalSecantus();
      if (missing) throw new Error(`No MongoDB server: RUNBUS_MONGODB_URI is unset and the local server is not installed: missing ${missing}. Run \`npm run servers:install\`.`);
      log(`starting the local ${LOCAL_MONGO_SERVER}`);
      const server = await startLocalSecantus(join(workdir, "secantus"));
      started.push(server);
      mongoServer = server;
      mongodbUri = server.address;
    }
    await Promise.all([probeKafka(brokers), probeMongo(mongodbUri)]);
    log(`servers: Kafka ${brokers.join(",")}, MongoDB ${mongodbUri.replace(/\/\/[^@/]+@/, "//[redacted]@")}`);
    const pids = () => ({ ...(kafkaServer ? { kafka: kafkaServer.pid } : {}), ...(mongoServer ? { mongodb: mongoServer.pid } : {}) });
    return { brokers, mongodbUri, sources: { kafka: envKafka ? "env" : "local", mongodb: envMongo ? "env" : "local" }, pids, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The servers' own logs, next to the workers' in bench/results/logs, for a run that went wrong. */
function keepServerLogs(workdir: string): void {
  for (const [from, to] of [
    ["secantus/secantus.log", "secantus.log"],
    ["kafka/stdout.log", "kafka.log"],
  ] as const) {
    const source = join(workdir, from);
    if (!existsSync(source)) continue;
    mkdirSync(join(resultsDir, "logs"), { recursive: true });
    copyFileSync(source, join(resultsDir, "logs", to));
  }
}

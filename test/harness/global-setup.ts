import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { probeKafka } from "../../src/adapters/kafka/probe.js";
import { probeMongo } from "../../src/adapters/mongo/probe.js";
import { dockerAvailable, startDockerKafka, startDockerMongo } from "./docker-servers.js";
import {
  LOCAL_MONGO_SERVER,
  missingLocalKafka,
  missingLocalSecantus,
  startLocalKafka,
  startLocalSecantus,
  type SecureKafka,
  type StartedServer,
} from "./local-servers.js";

declare module "vitest" {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    mongodbUri: string;
    /** How each server was found: "env", "docker" or "local", for the test output. */
    serverSources: { kafka: string; mongodb: string };
    /**
     * The local broker's workdir (server.properties, data/, kafka.pid), for tests that restart it
     * with tools/kafka/restart.sh; null when the broker came from the environment or Docker.
     */
    kafkaWorkdir: string | null;
    /**
     * The local broker's secured listeners: SASL_SSL (SCRAM-SHA-512/256, PLAIN) and SSL with mTLS,
     * ACLs enforced there, for the users in SECURE_KAFKA_USERS (random passwords, one client
     * certificate each); the plaintext listener in kafkaBrokers is a super user that grants ACLs.
     * null when the broker came from the environment or Docker, which offer none.
     */
    secureKafka: SecureKafka | null;
  }
}

/**
 * The principals of the local broker's secured listeners: one per role the security tests play
 * (a worker, a gateway, a producer, a read-only client, two tenants) and one granted nothing.
 */
const SECURE_KAFKA_USERS = ["worker", "gateway", "producer", "reader", "auditor", "tenant-a", "tenant-b", "nobody"] as const;

/**
 * Finds a real Kafka broker and a real MongoDB wire-protocol server for the integration tests:
 * the ones named by RUNBUS_KAFKA_BROKERS / RUNBUS_MONGODB_URI; else Docker through testcontainers;
 * else the project's own local broker (tools/kafka) and secantusd-rs, a MongoDB wire-protocol server
 * on WiredTiger with atomic single-document updates (tools/secantus).
 * Fails with a message that names what is missing, never a silent skip.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: StartedServer[] = [];
  const workdir = mkdtempSync(join(tmpdir(), "runbus-test-"));

  // Interrupted runs skip the teardown below; the pids still die with us.
  const killAll = () => {
    for (const server of started) if (server.pid > 0) try { process.kill(server.pid, "SIGKILL"); } catch { /* already gone */ }
  };
  process.once("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }

  const teardown = async () => {
    process.off("exit", killAll);
    await Promise.allSettled(started.map((server) => server.stop()));
    rmSync(workdir, { recursive: true, force: true });
  };

  try {
    const envKafka = process.env.RUNBUS_KAFKA_BROKERS;
    const envMongo = process.env.RUNBUS_MONGODB_URI;
    const useDocker = (!envKafka || !envMongo) && (await dockerAvailable());

    let kafkaSource: string;
    let brokers: string[];
    let kafkaWorkdir: string | null = null;
    let secureKafka: SecureKafka | null = null;
    if (envKafka) {
      kafkaSource = "env";
      brokers = envKafka.split(",").map((b) => b.trim()).filter(Boolean);
    } else {
      kafkaSource = useDocker ? "docker" : "local";
      const missing = useDocker ? undefined : missingLocalKafka();
      if (missing) throw new Error(noServer("Kafka broker", "RUNBUS_KAFKA_BROKERS", missing));
      if (useDocker) {
        const server = await startDockerKafka();
        started.push(server);
        brokers = [server.address];
      } else {
        const server = await startLocalKafka(join(workdir, "kafka"), SECURE_KAFKA_USERS);
        started.push(server);
        brokers = [server.address];
        kafkaWorkdir = server.workdir;
        secureKafka = server.secure;
      }
    }

    let mongoSource: string;
    let mongodbUri: string;
    if (envMongo) {
      mongoSource = "env";
      mongodbUri = envMongo;
    } else {
      mongoSource = useDocker ? "docker" : "local";
      const missing = useDocker ? undefined : missingLocalSecantus();
      if (missing) throw new Error(noServer("MongoDB-compatible server", "RUNBUS_MONGODB_URI", missing));
      const server = useDocker ? await startDockerMongo() : await startLocalSecantus(join(workdir, "secantus"));
      started.push(server);
      mongodbUri = server.address;
    }

    await Promise.all([probeKafka(brokers), probeMongo(mongodbUri)]);

    const sources = { kafka: kafkaSource, mongodb: mongoSource };
    // Addresses only: the passwords stay out of the output.
    const secured = secureKafka ? `; SASL_SSL ${secureKafka.saslSsl}, mTLS ${secureKafka.ssl}` : "";
    process.stdout.write(
      `runbus test servers: Kafka ${brokers.join(",")} (${describe(kafkaSource, "Apache Kafka 3.9.1 KRaft")}${secured}), ` +
        `MongoDB wire protocol ${mongodbUri.replace(/\/\/[^@/]+@/, "//[redacted]@")} (${describe(mongoSource, LOCAL_MONGO_SERVER)})\n`,
    );
    project.provide("kafkaBrokers", brokers);
    project.provide("mongodbUri", mongodbUri);
    project.provide("serverSources", sources);
    project.provide("kafkaWorkdir", kafkaWorkdir);
    project.provide("secureKafka", secureKafka);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}

function describe(source: string, local: string): string {
  if (source === "local") return `local ${local}`;
  return source === "docker" ? "testcontainers" : "from the environment";
}

function noServer(what: string, envVar: string, missing: string): string {
  return (
    `No ${what} for the integration tests: ${envVar} is not set, no Docker engine answered for testcontainers, ` +
    `and the local server is not installed: missing ${missing}. Run \`npm run servers:install\` or set ${envVar}.`
  );
}

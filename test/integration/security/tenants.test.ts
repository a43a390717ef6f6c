import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Admin, Kafka } from "kafkajs";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aclsFor } from "../../../src/adapters/kafka/acls.js";
import { createKafka, type KafkaSettings } from "../../../src/adapters/kafka/client.js";
import { Topics } from "../../../src/adapters/kafka/topics.js";
import { openMongoStores } from "../../../src/adapters/mongo/stores.js";
import { withMongoAccess } from "../../../src/adapters/mongo/security-errors.js";
import { createClient, type RunbusClient } from "../../../src/client/client.js";
import { loadConfig } from "../../../src/config.js";
import { silentLogger } from "../../../src/logger.js";
import { Worker } from "../../../src/worker.js";
import { testGraphs } from "../../fixtures/graphs.js";
import { SecantusProcess } from "../../helpers/secantus-process.js";
import { Acls, capturingLogger, rejectionOf, saslSettings, superAdmin } from "../../helpers/secure-kafka.js";

/**
 * Two tenants on one broker and one database server, each with its own topic prefix, Kafka
 * principal and database user: the broker and the server, not runbus, keep each from the other's
 * data. The database server requires SCRAM credentials and TLS (secantusd-rs --auth, --tls-*), so
 * the workers also prove MongoDB credentials in the URI and RUNBUS_MONGODB_TLS_CA_FILE.
 */
const root = resolve(import.meta.dirname, "../../..");
const suffix = randomUUID().slice(0, 6);
interface Tenant {
  name: "tenant-a" | "tenant-b";
  prefix: string;
  db: string;
  mongoPassword: string;
  worker?: Worker;
  client?: RunbusClient;
  runId?: string;
  logs?: ReturnType<typeof capturingLogger>;
}
const tenants: Record<"a" | "b", Tenant> = {
  a: { name: "tenant-a", prefix: `ta${suffix}.`, db: `tenant_a_${suffix}`, mongoPassword: randomBytes(12).toString("hex") },
  b: { name: "tenant-b", prefix: `tb${suffix}.`, db: `tenant_b_${suffix}`, mongoPassword: randomBytes(12).toString("hex") },
};

let tls: string;
let mongo: SecantusProcess;
let admin: Admin;
let acls: Acls;

const caFile = () => join(tls, "ca.pem");
const mongoUri = (user: string, password: string) => `${mongo.uri.replace("mongodb://", `mongodb://${user}:${password}@`)}?authSource=admin`;

function configOf(tenant: Tenant, password = tenant.mongoPassword) {
  return loadConfig(
    {},
    {
      kafka: saslSettings(tenant.name),
      mongodb: { uri: mongoUri(tenant.db, password), dbName: tenant.db, tlsCAFile: caFile() },
      topicPrefix: tenant.prefix,
      commandPartitions: 2,
      shutdownGraceMs: 2000,
    },
  );
}

function clientOf(tenant: Tenant, prefix = tenant.prefix): RunbusClient {
  const kafka = saslSettings(tenant.name);
  return createClient({ brokers: kafka.brokers, ssl: true, tls: kafka.tls!, sasl: kafka.sasl!, topicPrefix: prefix, replyTimeoutMs: 20_000 });
}

beforeAll(async () => {
  tls = mkdtempSync(join(tmpdir(), "runbus-tenants-tls-"));
  // The test broker's certificate tool: a CA and a server certificate for 127.0.0.1.
  execFileSync("bash", [join(root, "tools/kafka/certs.sh"), tls], { stdio: "ignore" });
  mongo = await SecantusProcess.start({
    args: ["--auth", "--tls-cert-file", join(tls, "broker.pem"), "--tls-key-file", join(tls, "broker.key")],
    clientOptions: { tls: true, tlsCAFile: join(tls, "ca.pem") },
  });
  // The first user may be made without credentials from localhost; it makes the tenants' users.
  const rootPassword = randomBytes(12).toString("hex");
  const bootstrap = new MongoClient(mongo.uri, { tls: true, tlsCAFile: caFile() });
  await bootstrap.db("admin").command({ createUser: "root", pwd: rootPassword, roles: ["root"] });
  await bootstrap.close();
  const asRoot = new MongoClient(mongoUri("root", rootPassword), { tls: true, tlsCAFile: caFile() });
  for (const tenant of Object.values(tenants)) {
    await asRoot.db("admin").command({ createUser: tenant.db, pwd: tenant.mongoPassword, roles: [{ role: "readWrite", db: tenant.db }] });
  }
  await asRoot.close();

  admin = await superAdmin();
  acls = new Acls(admin);
  for (const tenant of Object.values(tenants)) {
    await acls.revokeAll(`User:${tenant.name}`);
    await acls.grant(`User:${tenant.name}`, [...aclsFor("worker", tenant.prefix), ...aclsFor("gateway", tenant.prefix), ...aclsFor("auditor", tenant.prefix)]);
    tenant.logs = capturingLogger("debug");
    tenant.worker = await Worker.create(configOf(tenant), { graphs: testGraphs, logger: tenant.logs.logger });
    await tenant.worker.start();
    tenant.client = clientOf(tenant);
    const result = await tenant.client.runs.wait({ thread_id: `t-${randomUUID()}`, graph_id: "echo", input: { messages: [{ role: "user", content: tenant.name }] } });
    expect(result.status).toBe("success");
    tenant.runId = result.run_id;
  }
}, 180_000);

afterAll(async () => {
  for (const tenant of Object.values(tenants)) {
    await tenant.client?.close();
    await tenant.worker?.stop(1000);
    await acls?.revokeAll(`User:${tenant.name}`).catch(() => undefined);
  }
  await admin?.disconnect();
  await mongo?.destroy();
  if (tls) rmSync(tls, { recursive: true, force: true });
});

/** kafkajs's protocol error type, looked for through its wrappers. */
function kafkaType(error: unknown): string | undefined {
  for (let e = error as { type?: string; cause?: unknown; errors?: unknown[] } | undefined; e; e = (e.cause ?? e.errors?.[0]) as typeof e) {
    if (e.type) return e.type;
  }
  return undefined;
}

describe("tenants isolated by the broker and the database server", () => {
  const a = tenants.a;
  const b = tenants.b;
  const bTopics = new Topics(b.prefix);
  let kafkaA: Kafka;
  beforeAll(() => {
    kafkaA = createKafka(saslSettings(a.name) as KafkaSettings, silentLogger());
  });

  it("each tenant's worker ran its run on its own database, over TLS with its own credentials", async () => {
    for (const tenant of [a, b]) {
      const stores = await openMongoStores({ uri: mongoUri(tenant.db, tenant.mongoPassword), dbName: tenant.db, logger: silentLogger(), clientOptions: { tls: true, tlsCAFile: caFile() } });
      try {
        expect(await stores.runs.get(tenant.runId!)).toMatchObject({ status: "success" });
      } finally {
        await stores.close();
      }
    }
  });

  it("A's principal may not read B's run topic, audit topic or replies", async () => {
    const adminA = kafkaA.admin();
    await adminA.connect();
    try {
      for (const topic of [bTopics.run(b.runId!), bTopics.transitions, bTopics.replies]) {
        expect(kafkaType(await rejectionOf(() => adminA.fetchTopicMetadata({ topics: [topic] }))), topic).toBe("TOPIC_AUTHORIZATION_FAILED");
      }
    } finally {
      await adminA.disconnect();
    }
    // Through runbus's own reader, with B's prefix: the topic is hidden from A.
    const reader = clientOf(a, b.prefix);
    try {
      const error = await rejectionOf(async () => {
        for await (const event of reader.runs.stream(b.runId!, { topicWaitMs: 1500 })) void event;
      });
      expect(error.code).toBe("run_not_found");
    } finally {
      await reader.close();
    }
  });

  it("A's principal may not write B's command topic", async () => {
    const producer = kafkaA.producer();
    await producer.connect();
    try {
      const error = await rejectionOf(() => producer.send({ topic: bTopics.commands, messages: [{ key: "x", value: JSON.stringify({ type: "thread.delete", thread_id: "x" }) }] }));
      expect(kafkaType(error)).toBe("TOPIC_AUTHORIZATION_FAILED");
    } finally {
      await producer.disconnect();
    }
    // Through runbus's client aimed at B's prefix: refused before anything is sent.
    const client = clientOf(a, b.prefix);
    try {
      const error = await rejectionOf(() => client.runs.create({ thread_id: "x", graph_id: "echo", input: {} }));
      expect(error.code).toBe("kafka_not_authorized");
    } finally {
      await client.close();
    }
  });

  it("A's principal may not join B's workers' group, even to read its own commands", async () => {
    const consumer = kafkaA.consumer({ groupId: `${b.prefix}runbus-workers` });
    const crashed = new Promise<unknown>((resolve) => consumer.on(consumer.events.CRASH, ({ payload }) => resolve(payload.error)));
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: new Topics(a.prefix).commands });
      await consumer.run({ eachMessage: async () => undefined });
      // The broker answers FindCoordinator for a group the principal may not even describe with
      // GROUP_AUTHORIZATION_FAILED; kafkajs reports that as no coordinator found.
      const error = (await crashed) as Error;
      expect(kafkaType(error) ?? error.name, String(error)).toMatch(/^(GROUP_AUTHORIZATION_FAILED|KafkaJSGroupCoordinatorNotFound)$/);
    } finally {
      await consumer.disconnect();
    }
  });

  it("A's database user may not read B's database, and a wrong password stops a worker at once", async () => {
    const error = await rejectionOf(() =>
      withMongoAccess(async () => {
        const stores = await openMongoStores({ uri: mongoUri(a.db, a.mongoPassword), dbName: b.db, logger: silentLogger(), clientOptions: { tls: true, tlsCAFile: caFile() } });
        await stores.close();
      }),
    );
    expect(error.code).toBe("mongodb_not_authorized");

    const started = Date.now();
    const wrong = await rejectionOf(() => Worker.create(configOf(a, "not-the-password"), { graphs: testGraphs, logger: silentLogger() }));
    expect(wrong.code).toBe("mongodb_auth_failed");
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("never logs a tenant's Kafka or MongoDB password", () => {
    for (const tenant of [a, b]) {
      const text = tenant.logs!.text();
      expect(text.length).toBeGreaterThan(0);
      expect(text).not.toContain(saslSettings(tenant.name).sasl!.password);
      expect(text).not.toContain(tenant.mongoPassword);
    }
  });
});

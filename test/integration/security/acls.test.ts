import { randomUUID } from "node:crypto";
import type { Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { aclsFor, type AclGrant, type AclRole } from "../../../src/adapters/kafka/acls.js";
import { createKafka, type KafkaSettings } from "../../../src/adapters/kafka/client.js";
import { Topics } from "../../../src/adapters/kafka/topics.js";
import { readRunAudit } from "../../../src/cli/audit.js";
import { createClient, type RunbusClient } from "../../../src/client/client.js";
import type { StreamedEvent } from "../../../src/client/run-reader.js";
import { loadConfig } from "../../../src/config.js";
import { silentLogger } from "../../../src/logger.js";
import { memoryWorkerStores, Worker } from "../../../src/worker.js";
import { testGraphs } from "../../fixtures/graphs.js";
import { Acls, capturingLogger, rejectionOf, saslSettings, superAdmin } from "../../helpers/secure-kafka.js";

/**
 * Each principal holds only the ACLs docs/security.md lists for its role (src/adapters/kafka/acls.ts),
 * on a broker whose authorizer denies everything else, and through SASL_SSL: a run goes end to end;
 * without any one required ACL the failure is immediate and names the permission.
 */
const prefix = `acl${randomUUID().slice(0, 6)}.`;
const topics = new Topics(prefix);
/** How long a test waits for what the worker does in the background (a dead letter, the janitor). */
const WAIT = { timeout: 30_000, interval: 200 };
const ROLES: AclRole[] = ["worker", "gateway", "producer", "reader", "auditor"];

let admin: Admin;
let acls: Acls;

function clientFor(settings: KafkaSettings, logger = silentLogger()): RunbusClient {
  return createClient({
    logger,
    brokers: settings.brokers,
    ...(settings.ssl !== undefined ? { ssl: settings.ssl } : {}),
    ...(settings.tls ? { tls: settings.tls } : {}),
    ...(settings.sasl ? { sasl: settings.sasl } : {}),
    topicPrefix: prefix,
    replyTimeoutMs: 20_000,
  });
}

function workerConfig(user: string, overrides: Partial<Parameters<typeof loadConfig>[1]> = {}) {
  return loadConfig({}, { kafka: saslSettings(user), topicPrefix: prefix, commandPartitions: 2, shutdownGraceMs: 2000, leaseMs: 5000, ...overrides });
}

async function collect(events: AsyncGenerator<StreamedEvent>): Promise<StreamedEvent[]> {
  const all: StreamedEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

beforeAll(async () => {
  admin = await superAdmin();
  acls = new Acls(admin);
  // The role name is the principal's name (SCRAM users of the test broker).
  for (const role of ROLES) {
    await acls.revokeAll(`User:${role}`);
    await acls.grant(`User:${role}`, aclsFor(role, prefix));
  }
});

afterAll(async () => {
  for (const role of ROLES) await acls?.revokeAll(`User:${role}`).catch(() => undefined);
  await admin?.disconnect();
});

describe("least-privilege ACLs, every principal on SASL_SSL (SCRAM-SHA-512)", () => {
  it("run a run end to end: create, stream, cancel with rollback, read, audit, dead letter, topic deletion", async () => {
    const logs = capturingLogger("warn");
    // Short retention: the janitor deletes the run topics during the test.
    const worker = await Worker.create(workerConfig("worker", { runTopicRetentionMs: 3000 }), { graphs: testGraphs, logger: logs.logger, stores: memoryWorkerStores() });
    await worker.start();
    const gateway = clientFor(saslSettings("gateway"));
    const producer = clientFor(saslSettings("producer"));
    const reader = clientFor(saslSettings("reader"));
    try {
      // The gateway's principal creates a run and streams it.
      const thread = `t-${randomUUID()}`;
      const { reply, events } = await gateway.runs.createAndStream({ thread_id: thread, graph_id: "echo", input: { messages: [{ role: "user", content: "hi" }] }, stream_mode: ["values"] });
      expect(reply.accepted).toBe(true);
      const streamed = await collect(events);
      expect(streamed.at(-1)).toMatchObject({ name: "end", data: { status: "success" } });

      // The reader's principal replays it from its topic.
      const replay = await collect(reader.runs.stream(reply.run_id));
      expect(replay.map((e) => e.seq)).toEqual(streamed.map((e) => e.seq));

      // The producer's principal cancels a slow run with rollback.
      const slowThread = `t-${randomUUID()}`;
      const slow = await producer.runs.create({ thread_id: slowThread, graph_id: "slow", input: { messages: [] } });
      expect(slow.accepted).toBe(true);
      for await (const event of gateway.runs.stream(slow.run_id)) if (event.name === "values") break;
      const cancel = await producer.runs.cancel(slowThread, slow.run_id, "rollback");
      expect(cancel.accepted).toBe(true);
      const cancelled = await gateway.runs.join(slow.run_id);
      // A rollback ends the run in error (rolled back) once the pre-run checkpoint is restored.
      expect(cancelled.status).toBe("error");

      // The auditor's principal reads both runs' transitions.
      const auditKafka = createKafka(saslSettings("auditor"), silentLogger());
      const audit = await readRunAudit(auditKafka, topics, slow.run_id, { idleMs: 10_000 });
      expect(audit.path).toContain("rolling_back");
      expect((await readRunAudit(auditKafka, topics, reply.run_id, { idleMs: 10_000 })).path.at(-1)).toBe("success");

      // The producer's principal writes garbage: the worker dead-letters it (read by the super user).
      const raw = createKafka(saslSettings("producer"), silentLogger()).producer();
      await raw.connect();
      const key = `garbage-${randomUUID()}`;
      await raw.send({ topic: topics.commands, messages: [{ key, value: "{ not json" }] });
      await raw.disconnect();
      // The dead letter arrives.
      await vi.waitUntil(async () => (await keysOf(topics.deadLetters)).includes(key), WAIT);

      // The worker's janitor deletes both run topics once their retention has passed.
      await vi.waitUntil(async () => {
        const listed = await admin.listTopics();
        return !listed.includes(topics.run(reply.run_id)) && !listed.includes(topics.run(slow.run_id));
      }, WAIT);
      expect(logs.lines.filter((line) => Number(line.level) >= 50)).toEqual([]);
    } finally {
      await Promise.allSettled([gateway.close(), producer.close(), reader.close()]);
      await worker.stop(1000);
    }
  });
});

/** Every key on `topic` so far, read through the plaintext (super user) listener. */
async function keysOf(topic: string): Promise<string[]> {
  const kafka = createKafka({ brokers: inject("kafkaBrokers") }, silentLogger());
  const consumer = kafka.consumer({ groupId: `dlq-check-${randomUUID()}` });
  const ends = await admin.fetchTopicOffsets(topic);
  const want = new Map(ends.map((p) => [p.partition, Number(p.offset)]));
  const keys: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      const seen = new Map<number, number>();
      const check = () => {
        if ([...want].every(([p, end]) => (seen.get(p) ?? 0) >= end)) resolve();
      };
      check();
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          keys.push(message.key?.toString() ?? "");
          seen.set(partition, Number(message.offset) + 1);
          check();
        },
      });
    });
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  } finally {
    await consumer.disconnect();
  }
  return keys;
}

describe("a principal missing one required ACL fails at once, naming the permission", () => {
  const required = (role: AclRole) => aclsFor(role, prefix).filter((g) => g.required);
  const label = (g: AclGrant) => `${g.operation} on ${g.resource} ${g.pattern === "prefixed" ? `${g.name}*` : g.name}`;

  /** Runs `check` with `grant` revoked from the role's principal, then grants it again. */
  async function without(role: AclRole, grant: AclGrant, check: () => Promise<void>): Promise<void> {
    await acls.revoke(`User:${role}`, [grant]);
    try {
      await check();
    } finally {
      await acls.grant(`User:${role}`, [grant]);
    }
  }

  for (const grant of required("worker")) {
    it(`worker without ${label(grant)}`, async () => {
      await without("worker", grant, async () => {
        const logs = capturingLogger("warn");
        const worker = await Worker.create(workerConfig("worker", { runTopicRetentionMs: 2000 }), { graphs: testGraphs, logger: logs.logger, stores: memoryWorkerStores() });
        try {
          if (grant.operation === "delete") {
            // Only the janitor deletes: the worker serves, and says what it may not do.
            await worker.start();
            const client = clientFor(saslSettings("gateway"));
            try {
              const run = await client.runs.wait({ thread_id: `t-${randomUUID()}`, graph_id: "echo", input: { messages: [] } });
              expect(run.status).toBe("success");
            } finally {
              await client.close();
            }
            const line = await vi.waitUntil(() => logs.lines.find((l) => l.code === "kafka_not_authorized"), WAIT);
            expect(String(line.err)).toMatch(/^Kafka denied Delete on topics .*runbus\.run\..*: the principal lacks an ACL for this topic/);
            return;
          }
          const error = await rejectionOf(() => worker.start());
          expect(error.code).toBe("kafka_not_authorized");
          const named = {
            create: /Kafka denied Create on topics .*runbus\.commands/,
            write: /Kafka denied connect a producer \(Write on its topics\)/,
            read: grant.resource === "group" ? /Kafka denied Read on topic .* and on group .*runbus-.*for this group/ : /Kafka denied Read on topic .*runbus\.\S+ and on group .*for this topic/,
            delete: /never/,
          }[grant.operation];
          expect(error.message).toMatch(named);
        } finally {
          await worker.stop(0);
        }
      });
    });
  }

  for (const grant of required("gateway")) {
    it(`gateway without ${label(grant)}`, async () => {
      // Runs need a worker; the gateway's principal is the one short of an ACL.
      const worker = await Worker.create(workerConfig("worker"), { graphs: testGraphs, logger: silentLogger(), stores: memoryWorkerStores() });
      await worker.start();
      try {
        // A run to read back, made while the gateway still holds every ACL.
        const full = clientFor(saslSettings("gateway"));
        const done = await full.runs.wait({ thread_id: `t-${randomUUID()}`, graph_id: "echo", input: { messages: [] } }).finally(() => full.close());
        await without("gateway", grant, async () => {
          const client = clientFor(saslSettings("gateway"));
          try {
            const error = await rejectionOf(async () => {
              await client.runs.create({ thread_id: `t-${randomUUID()}`, graph_id: "echo", input: { messages: [] } });
              await collect(client.runs.stream(done.run_id, { topicWaitMs: 2000 }));
            });
            if (grant.resource === "topic" && grant.name.endsWith("runbus.run")) {
              // Without Read (so without Describe) Kafka hides the topic: it looks absent.
              expect(error.code).toBe("run_not_found");
              expect(error.message).toMatch(/no Describe ACL on it/);
              return;
            }
            if (grant.resource === "group" && grant.name.endsWith("runbus-client-")) {
              // Its Delete grant implies Describe, so the group can be looked up; only kafkajs's
              // commit of its start offsets, which joins it, is refused, and kafkajs never says so.
              expect(error.code).toBe("kafka_unreachable");
              expect(error.message).toMatch(/the principal may lack Read on group \S+runbus-client-/);
              return;
            }
            expect(error.code).toBe("kafka_not_authorized");
            const named =
              grant.resource === "group"
                ? new RegExp(`Kafka denied Read on topic \\S+ and on group ${grant.name.replace(/\./g, "\\.")}\\S*: the principal lacks an ACL for this group`)
                : grant.operation === "write"
                  ? /Kafka denied (connect a producer \(Write on topic \S+runbus\.commands\)|Write on topic \S+runbus\.commands)/
                  : /Kafka denied Read on topic \S+runbus\.replies and on group/;
            expect(error.message).toMatch(named);
          } finally {
            await client.close();
          }
        });
      } finally {
        await worker.stop(1000);
      }
    });
  }
});

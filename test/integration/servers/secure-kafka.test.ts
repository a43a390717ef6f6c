import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
  logLevel,
  ResourcePatternTypes,
  type AclEntry,
  type Admin,
  type KafkaConfig,
  type SASLMechanism,
} from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { secureKafka } from "../../helpers/secure-kafka.js";

const opened: Admin[] = [];
let ca: string;
let untrustedCaDir: string;

/** An admin client, connected; no retries, so a refusal surfaces at once as the broker's own answer. */
async function connectedAdmin(config: Omit<KafkaConfig, "clientId">): Promise<Admin> {
  const admin = new Kafka({ clientId: "secure-kafka-test", logLevel: logLevel.NOTHING, connectionTimeout: 5_000, retry: { retries: 0 }, ...config }).admin();
  opened.push(admin);
  await admin.connect();
  return admin;
}

function sasl(user: string, mechanism: SASLMechanism = "scram-sha-512", password = secureKafka().users[user]): Omit<KafkaConfig, "clientId"> {
  if (password === undefined) throw new Error(`No user ${user} on the test broker.`);
  const secure = secureKafka();
  return { brokers: [secure.saslSsl], ssl: { ca: [ca] }, sasl: { mechanism, username: user, password } as KafkaConfig["sasl"] };
}

function mtls(user: string): Omit<KafkaConfig, "clientId"> {
  const secure = secureKafka();
  const cert = secure.clientCerts[user];
  if (!cert) throw new Error(`No client certificate for ${user} on the test broker.`);
  return { brokers: [secure.ssl], ssl: { ca: [ca], cert: readFileSync(cert.certFile, "utf8"), key: readFileSync(cert.keyFile, "utf8") } };
}

beforeAll(() => {
  ca = readFileSync(secureKafka().caFile, "utf8");
  // A CA the broker's certificate does not chain to, made the way the broker's own is.
  untrustedCaDir = mkdtempSync(join(tmpdir(), "runbus-untrusted-ca-"));
  execFileSync("bash", [resolve(import.meta.dirname, "../../../tools/kafka/certs.sh"), untrustedCaDir]);
});

afterAll(async () => {
  await Promise.allSettled(opened.map((admin) => admin.disconnect()));
  if (untrustedCaDir) rmSync(untrustedCaDir, { recursive: true, force: true });
});

describe("the local broker's SASL_SSL listener", () => {
  it.each(["scram-sha-512", "scram-sha-256", "plain"] as const)("admits a user with %s, the broker verified against the test CA", async (mechanism) => {
    const admin = await connectedAdmin(sasl("worker", mechanism));
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.map((b) => `${b.host}:${b.port}`)).toEqual([secureKafka().saslSsl]);
  });

  it.each(["scram-sha-512", "plain"] as const)("refuses a wrong password with %s as a SASL authentication error", async (mechanism) => {
    await expect(connectedAdmin(sasl("worker", mechanism, "not-the-password"))).rejects.toThrow(KafkaJSSASLAuthenticationError);
  });

  it("is refused by a client that does not trust the broker's CA", async () => {
    const untrusted = readFileSync(join(untrustedCaDir, "ca.pem"), "utf8");
    await expect(connectedAdmin({ ...sasl("worker"), ssl: { ca: [untrusted] } })).rejects.toThrow(/self-signed certificate in certificate chain/);
  });
});

describe("the local broker's SSL listener (mTLS)", () => {
  it("admits a client with a certificate the test CA signed", async () => {
    const admin = await connectedAdmin(mtls("worker"));
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.map((b) => `${b.host}:${b.port}`)).toEqual([secureKafka().ssl]);
  });

  it("refuses a client without a certificate", async () => {
    // The broker ends the handshake with a TLS alert (bad_certificate); a reset can beat the alert.
    await expect(connectedAdmin({ brokers: [secureKafka().ssl], ssl: { ca: [ca] } })).rejects.toThrow(/bad certificate|certificate required|ECONNRESET/);
  });
});

describe("ACLs on the secured listeners", () => {
  it("refuse a user a topic's metadata until an ACL allows it, on SASL_SSL and mTLS alike", async () => {
    const plain = await connectedAdmin({ brokers: inject("kafkaBrokers") });
    const topic = `secure.acl.${randomUUID()}`;
    await plain.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: false });
    await expect.poll(async () => (await plain.listTopics()).includes(topic), { timeout: 15_000 }).toBe(true);

    const viaScram = await connectedAdmin(sasl("nobody"));
    const viaCert = await connectedAdmin(mtls("nobody"));
    const acl: AclEntry = {
      principal: "User:nobody",
      host: "*",
      resourceType: AclResourceTypes.TOPIC,
      resourceName: topic,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      operation: AclOperationTypes.DESCRIBE,
      permissionType: AclPermissionTypes.ALLOW,
    };
    try {
      for (const admin of [viaScram, viaCert]) {
        await expect(admin.fetchTopicMetadata({ topics: [topic] })).rejects.toMatchObject({ name: "KafkaJSProtocolError", type: "TOPIC_AUTHORIZATION_FAILED" });
        expect(await admin.listTopics()).not.toContain(topic);
      }

      await plain.createAcls({ acl: [acl] });
      // The broker's authorizer applies the ACL when it replays the metadata record, a moment after CreateAcls returns.
      for (const admin of [viaScram, viaCert]) {
        await expect.poll(() => describedTopic(admin, topic), { timeout: 15_000 }).toBe(topic);
        expect(await admin.listTopics()).toContain(topic);
      }

      const deleted = await plain.deleteAcls({ filters: [acl] });
      expect(deleted.filterResponses[0]?.matchingAcls).toHaveLength(1);
      await expect.poll(() => describedTopic(viaScram, topic), { timeout: 15_000 }).toBe("TOPIC_AUTHORIZATION_FAILED");
    } finally {
      await plain.deleteAcls({ filters: [acl] }).catch(() => {});
      await plain.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => {});
    }
  });
});

/** The topic's name when `admin` may see its metadata, else the broker's error type. */
async function describedTopic(admin: Admin, topic: string): Promise<string> {
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    return metadata.topics[0]?.name ?? "no metadata";
  } catch (error) {
    if (error instanceof KafkaJSProtocolError) return error.type;
    throw error;
  }
}

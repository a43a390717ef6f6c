import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kafkaSsl } from "../../../src/adapters/kafka/client.js";
import { kafkaSecurityError } from "../../../src/adapters/kafka/security-errors.js";
import { mongoClientOptions } from "../../../src/adapters/mongo/client-options.js";
import { loadConfig } from "../../../src/config.js";
import { RunbusError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/logger.js";
import { waitUntilReady } from "../../../src/wait-until-ready.js";

const dir = mkdtempSync(join(tmpdir(), "runbus-tls-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const ca = file("ca.pem", "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n");
const cert = file("client.pem", "-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n");
const key = file("client.key", "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n");

describe("Kafka TLS settings", () => {
  it("are off by default and plain TLS with RUNBUS_KAFKA_SSL=true", () => {
    expect(kafkaSsl(loadConfig({ RUNBUS_KAFKA_BROKERS: "b:9092" }).kafka!)).toBe(false);
    expect(kafkaSsl(loadConfig({ RUNBUS_KAFKA_BROKERS: "b:9092", RUNBUS_KAFKA_SSL: "true" }).kafka!)).toBe(true);
  });

  it("read the CA, the client certificate and its key, and turn TLS on", () => {
    const kafka = loadConfig({ RUNBUS_KAFKA_BROKERS: "b:9092", RUNBUS_KAFKA_SSL_CA_FILE: ca, RUNBUS_KAFKA_SSL_CERT_FILE: cert, RUNBUS_KAFKA_SSL_KEY_FILE: key }).kafka!;
    expect(kafka.ssl).toBe(true);
    expect(kafkaSsl(kafka)).toEqual({ rejectUnauthorized: true, ca: [expect.stringContaining("ca")], cert: expect.stringContaining("client"), key: expect.stringContaining("PRIVATE KEY") });
  });

  it("verify the broker unless RUNBUS_KAFKA_SSL_REJECT_UNAUTHORIZED=false", () => {
    const lax = loadConfig({ RUNBUS_KAFKA_BROKERS: "b:9092", RUNBUS_KAFKA_SSL: "true", RUNBUS_KAFKA_SSL_REJECT_UNAUTHORIZED: "false" }).kafka!;
    expect(kafkaSsl(lax)).toEqual({ rejectUnauthorized: false });
  });

  it("refuse a certificate without its key, and name a file that cannot be read", () => {
    expect(() => loadConfig({ RUNBUS_KAFKA_BROKERS: "b:9092", RUNBUS_KAFKA_SSL_CERT_FILE: cert })).toThrow(/CERT_FILE and RUNBUS_KAFKA_SSL_KEY_FILE go together/);
    const missing = loadConfig({ RUNBUS_KAFKA_BROKERS: "b:9092", RUNBUS_KAFKA_SSL_CA_FILE: join(dir, "nope.pem") }).kafka!;
    const error = (() => {
      try {
        kafkaSsl(missing);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ code: "config_invalid", message: expect.stringContaining("RUNBUS_KAFKA_SSL_CA_FILE") });
  });

  it("reject an unknown SASL mechanism", () => {
    expect(() => loadConfig({ RUNBUS_KAFKA_BROKERS: "b:9092", RUNBUS_KAFKA_SASL_MECHANISM: "gssapi" })).toThrow(/kafka.sasl.mechanism/);
  });
});

describe("MongoDB TLS settings", () => {
  it("turn TLS on with the CA file, and add nothing without it", () => {
    const mongodb = loadConfig({ RUNBUS_MONGODB_URI: "mongodb://u:p@h/", RUNBUS_MONGODB_TLS_CA_FILE: ca }).mongodb!;
    expect(mongoClientOptions(mongodb)).toEqual({ tls: true, tlsCAFile: ca });
    expect(mongoClientOptions(loadConfig({ RUNBUS_MONGODB_URI: "mongodb://h/" }).mongodb!)).toEqual({});
  });
});

/** What kafkajs throws, reduced to the fields it carries. */
const protocolError = (type: string) => Object.assign(new Error(`Not authorized (${type})`), { name: "KafkaJSProtocolError", type, retriable: false });

describe("kafkaSecurityError", () => {
  it("names the denied resource type and what was asked", () => {
    const error = kafkaSecurityError(protocolError("GROUP_AUTHORIZATION_FAILED"), "Read on topic t and on group g");
    expect(error).toMatchObject({ code: "kafka_not_authorized", retryable: false });
    expect(error!.message).toBe("Kafka denied Read on topic t and on group g: the principal lacks an ACL for this group (GROUP_AUTHORIZATION_FAILED).");
    expect(kafkaSecurityError(protocolError("TOPIC_AUTHORIZATION_FAILED"), "x")!.message).toContain("for this topic");
    expect(kafkaSecurityError(protocolError("CLUSTER_AUTHORIZATION_FAILED"), "x")!.message).toContain("for this cluster");
  });

  it("finds the refusal inside kafkajs's retry wrapper", () => {
    const wrapped = Object.assign(new Error("retries exceeded"), { name: "KafkaJSNumberOfRetriesExceeded", cause: protocolError("TOPIC_AUTHORIZATION_FAILED") });
    expect(kafkaSecurityError(wrapped, "Write on topic c")?.code).toBe("kafka_not_authorized");
  });

  it("calls refused credentials and failed TLS handshakes kafka_auth_failed", () => {
    const sasl = Object.assign(new Error("SASL SCRAM SHA512 authentication failed: bad password"), { name: "KafkaJSSASLAuthenticationError" });
    expect(kafkaSecurityError(sasl, "connect")).toMatchObject({ code: "kafka_auth_failed", message: expect.stringContaining("SASL") });
    const tls = Object.assign(new Error("Connection error: self-signed certificate in certificate chain"), { name: "KafkaJSConnectionError", code: "SELF_SIGNED_CERT_IN_CHAIN" });
    expect(kafkaSecurityError(tls, "connect")).toMatchObject({ code: "kafka_auth_failed", message: expect.stringContaining("TLS handshake") });
  });

  it("leaves every other error alone", () => {
    expect(kafkaSecurityError(Object.assign(new Error("Connection error: connect ECONNREFUSED"), { code: "ECONNREFUSED" }), "connect")).toBeUndefined();
    expect(kafkaSecurityError(protocolError("UNKNOWN_TOPIC_OR_PARTITION"), "connect")).toBeUndefined();
    expect(kafkaSecurityError("a string", "connect")).toBeUndefined();
  });
});

describe("waitUntilReady", () => {
  it("stops at once on a denied ACL instead of retrying it forever", async () => {
    let tries = 0;
    const denied = kafkaSecurityError(protocolError("TOPIC_AUTHORIZATION_FAILED"), "Create on topics t")!;
    const error = await waitUntilReady(
      "Kafka",
      async () => {
        tries++;
        throw denied;
      },
      { logger: silentLogger(), initialDelayMs: 1 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunbusError);
    expect(error).toMatchObject({ code: "kafka_not_authorized" });
    expect(tries).toBe(1);
  });
});

describe("kafkaSecurityError in kafkajs's aggregate errors", () => {
  it("finds a denied topic among createTopics' per-topic errors", () => {
    const aggregate = Object.assign(new Error("Topic creation errors"), { name: "KafkaJSAggregateError", errors: [protocolError("TOPIC_AUTHORIZATION_FAILED")] });
    const bailed = Object.assign(new Error("Topic creation errors"), { name: "KafkaJSNonRetriableError", cause: aggregate });
    expect(kafkaSecurityError(bailed, "Create on topics t")).toMatchObject({ code: "kafka_not_authorized", message: expect.stringContaining("Create on topics t") });
  });
});

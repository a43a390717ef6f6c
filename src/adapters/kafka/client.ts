import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { Kafka, logLevel, type KafkaConfig, type LogEntry } from "kafkajs";
import type { RunbusConfig } from "../../config.js";
import { RunbusError, messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { kafkaLogLevel } from "./log-levels.js";

/** How runbus reaches the brokers: addresses, TLS and SASL, as configured (RunbusConfig["kafka"]). */
export type KafkaSettings = Pick<NonNullable<RunbusConfig["kafka"]>, "brokers"> &
  Partial<Pick<NonNullable<RunbusConfig["kafka"]>, "clientId" | "ssl" | "tls" | "sasl">>;

/** A kafkajs client for the configured brokers whose logs go through pino (no credentials logged). */
export function createKafka(kafka: KafkaSettings, logger: Logger, clientId?: string): Kafka {
  const log = logger.child({ component: "kafkajs" });
  const config: KafkaConfig = {
    clientId: clientId ?? kafka.clientId ?? "runbus",
    brokers: kafka.brokers,
    ssl: kafkaSsl(kafka),
    connectionTimeout: 5000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[kafkaLogLevel(level, entry)]({ kafka: rest }, message);
      },
    ...(kafka.sasl ? { sasl: kafka.sasl as KafkaConfig["sasl"] } : {}),
  };
  return new Kafka(config);
}

/**
 * The TLS options of a kafkajs client: off, on with the system's CAs, or with the configured CA
 * bundle and client certificate (mTLS). The files are read once, here; a missing or unreadable one
 * is a bad setting (config_invalid naming it), not a broker that is down.
 */
export function kafkaSsl(kafka: Pick<KafkaSettings, "ssl" | "tls">): boolean | ConnectionOptions {
  const tls = kafka.tls;
  const files = Boolean(tls?.caFile || tls?.certFile || tls?.keyFile);
  if (!kafka.ssl && !files) return false;
  if (!files && tls?.rejectUnauthorized !== false) return true;
  return {
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
    ...(tls?.caFile ? { ca: [pem(tls.caFile, "RUNBUS_KAFKA_SSL_CA_FILE")] } : {}),
    ...(tls?.certFile ? { cert: pem(tls.certFile, "RUNBUS_KAFKA_SSL_CERT_FILE") } : {}),
    ...(tls?.keyFile ? { key: pem(tls.keyFile, "RUNBUS_KAFKA_SSL_KEY_FILE") } : {}),
  };
}

function pem(path: string, setting: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new RunbusError("config_invalid", `${setting}: cannot read ${path}: ${messageOf(error)}`, { cause: error });
  }
}

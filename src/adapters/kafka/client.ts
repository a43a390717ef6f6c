import { Kafka, logLevel, type KafkaConfig, type LogEntry } from "kafkajs";
import type { RunbusConfig } from "../../config.js";
import type { Logger } from "../../logger.js";
import { kafkaLogLevel } from "./log-levels.js";

/** A kafkajs client for the configured brokers whose logs go through pino (no credentials logged). */
export function createKafka(kafka: NonNullable<RunbusConfig["kafka"]>, logger: Logger, clientId?: string): Kafka {
  const log = logger.child({ component: "kafkajs" });
  const config: KafkaConfig = {
    clientId: clientId ?? kafka.clientId,
    brokers: kafka.brokers,
    ssl: kafka.ssl,
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

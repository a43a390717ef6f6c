import { Kafka, logLevel } from "kafkajs";
import { RunbusError, messageOf } from "../../errors.js";

/**
 * Asks the brokers for cluster metadata, failing within a few seconds with an error that names
 * the address when nothing answers, instead of letting kafkajs retry for minutes.
 */
export async function probeKafka(brokers: string[], options: { timeoutMs?: number } = {}): Promise<{ brokers: number }> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const kafka = new Kafka({
    clientId: "runbus-probe",
    brokers,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 500 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return { brokers: cluster.brokers.length };
  } catch (error) {
    throw new RunbusError("kafka_unreachable", `No Kafka broker answered at ${brokers.join(",")}: ${messageOf(error)}`, {
      retryable: true,
      cause: error,
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

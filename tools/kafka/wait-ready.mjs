// Waits until the Kafka broker at BOOTSTRAP answers a metadata request.
//   node wait-ready.mjs BOOTSTRAP TIMEOUT_SECONDS [PID]
// Exits 1 on timeout, or at once when PID (the broker process) has died.
import kafkajs from "kafkajs";
import { waitReady } from "../wait-ready.mjs";

const [bootstrap, timeoutSeconds = "90", pidArg] = process.argv.slice(2);

const kafka = new kafkajs.Kafka({
  clientId: "runbus-wait-ready",
  brokers: [bootstrap],
  connectionTimeout: 1000,
  retry: { retries: 0 },
  logLevel: kafkajs.logLevel.NOTHING,
});

await waitReady({
  what: "kafka",
  process: "broker process",
  timeoutSeconds,
  pid: pidArg ? Number(pidArg) : undefined,
  pollMs: 250,
  failure: `no metadata from ${bootstrap}`,
  probe: async () => {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      await admin.fetchTopicMetadata({ topics: [] });
      return cluster.brokers.length > 0;
    } finally {
      await admin.disconnect().catch(() => {});
    }
  },
});

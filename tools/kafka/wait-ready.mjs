// Waits until the Kafka broker at BOOTSTRAP answers a metadata request.
//   node wait-ready.mjs BOOTSTRAP TIMEOUT_SECONDS [PID]
// Exits 1 on timeout, or at once when PID (the broker process) has died.
import kafkajs from "kafkajs";

const [bootstrap, timeoutArg = "90", pidArg] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutArg) * 1000;
const pid = pidArg ? Number(pidArg) : undefined;

function alive(p) {
  try {
    process.kill(p, 0);
    return true;
  } catch {
    return false;
  }
}

const kafka = new kafkajs.Kafka({
  clientId: "runbus-wait-ready",
  brokers: [bootstrap],
  connectionTimeout: 1000,
  retry: { retries: 0 },
  logLevel: kafkajs.logLevel.NOTHING,
});

let lastError = "no attempt";
while (Date.now() < deadline) {
  if (pid !== undefined && !alive(pid)) {
    console.error(`kafka: broker process ${pid} exited during start-up`);
    process.exit(1);
  }
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.fetchTopicMetadata({ topics: [] });
    await admin.disconnect();
    if (cluster.brokers.length > 0) process.exit(0);
  } catch (error) {
    lastError = error instanceof Error ? error.message : String(error);
    await admin.disconnect().catch(() => {});
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
console.error(`kafka: no metadata from ${bootstrap} within ${timeoutArg}s (${lastError})`);
process.exit(1);

/**
 * `runbus gateway` in a process of its own, as it runs in production (`Gateway.create(...)`,
 * `listen`), on the benchmark's Kafka and MongoDB, so its CPU is not the load generator's.
 * Driven over IPC.
 *   argv[2]: JSON GatewayChildOptions
 */
import { loadConfig } from "../src/config.js";
import { Gateway } from "../src/gateway/gateway.js";
import { createLogger } from "../src/logger.js";
import { workerGraphs } from "./graphs.js";
import { serveParent } from "./lib/child.js";

export interface GatewayChildOptions {
  brokers: string[];
  mongodbUri: string;
  /** The worker's database and topic prefix: the gateway serves that worker's runs. */
  dbName: string;
  topicPrefix: string;
  mode: "per-run" | "shared";
}

const options = JSON.parse(process.argv[2] ?? "{}") as GatewayChildOptions;
const logger = createLogger({ level: process.env.BENCH_WORKER_LOG_LEVEL ?? "warn", name: "bench-gateway" });
const config = loadConfig(
  {},
  {
    kafka: { brokers: options.brokers },
    mongodb: { uri: options.mongodbUri, dbName: options.dbName },
    topicPrefix: options.topicPrefix,
    eventTopicMode: options.mode,
    logLevel: "warn",
  },
);
const gateway = await Gateway.create(config, { graphs: workerGraphs(10), logger });
const { url } = await gateway.listen({ port: 0, host: "127.0.0.1" });

serveParent(async (message) => {
  if (message.type === "mark") {
    // The CPU profiler's clock (monotonic, µs): lets a profile be cut to one load.
    process.send?.({ type: "mark", us: Number(process.hrtime.bigint() / 1000n) });
  } else if (message.type === "stop") {
    await gateway.close();
    process.exit(0);
  }
});
process.send?.({ type: "ready", url });

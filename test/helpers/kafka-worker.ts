import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { createClient, type RunbusClient } from "../../src/client/client.js";
import { loadConfig, type RunbusConfigInput } from "../../src/config.js";
import type { GraphEntry } from "../../src/graph/registry.js";
import { silentLogger } from "../../src/logger.js";
import { Worker, memoryWorkerStores, type WorkerStores } from "../../src/worker.js";
import { testGraphs } from "../fixtures/graphs.js";

export { memoryWorkerStores as memoryStores };

/** A unique topic prefix, so test files share the broker without seeing each other's records. */
export function uniquePrefix(): string {
  return `t${randomUUID().slice(0, 8)}.`;
}

export interface KafkaWorkerSetup {
  worker: Worker;
  client: RunbusClient;
  prefix: string;
  brokers: string[];
  stop(): Promise<void>;
}

/** A worker on the test broker (memory stores unless given) and a client on the same prefix. */
export async function startKafkaWorker(
  options: { config?: RunbusConfigInput; graphs?: Record<string, GraphEntry>; stores?: WorkerStores; prefix?: string } = {},
): Promise<KafkaWorkerSetup> {
  const brokers = inject("kafkaBrokers");
  const prefix = options.prefix ?? uniquePrefix();
  const config = loadConfig({}, { kafka: { brokers }, topicPrefix: prefix, commandPartitions: 3, shutdownGraceMs: 5000, ...options.config });
  const worker = await Worker.create(config, { graphs: options.graphs ?? testGraphs, logger: silentLogger(), stores: options.stores ?? memoryWorkerStores() });
  await worker.start();
  const client = createClient({ brokers, topicPrefix: prefix, eventTopicMode: config.eventTopicMode, replyTimeoutMs: 20_000 });
  return {
    worker,
    client,
    prefix,
    brokers,
    stop: async () => {
      await client.close();
      await worker.stop(2000);
    },
  };
}

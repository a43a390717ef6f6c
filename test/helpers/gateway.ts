import { randomUUID } from "node:crypto";
import { Client } from "@langchain/langgraph-sdk";
import { MongoClient } from "mongodb";
import { inject } from "vitest";
import { loadConfig, type RunbusConfig, type RunbusConfigInput } from "../../src/config.js";
import type { GraphEntry } from "../../src/graph/registry.js";
import { Gateway } from "../../src/gateway/gateway.js";
import { silentLogger } from "../../src/logger.js";
import { Worker } from "../../src/worker.js";
import { uniquePrefix } from "./kafka-worker.js";

export interface GatewayStack {
  config: RunbusConfig;
  worker: Worker;
  gateways: Gateway[];
  urls: string[];
  /** An SDK client of the first gateway (none when `gateways` is 0). */
  sdk: Client;
  stop(): Promise<void>;
}

/**
 * A worker and `gateways` gateways on the test broker and MongoDB-compatible server, sharing a
 * fresh topic prefix and database, with the LangGraph SDK's client on the first gateway.
 */
export async function startGatewayStack(options: { graphs: Record<string, GraphEntry>; gateways?: number; config?: RunbusConfigInput }): Promise<GatewayStack> {
  const dbName = `runbus_gateway_${randomUUID().replaceAll("-", "")}`;
  const uri = inject("mongodbUri");
  const config = loadConfig(
    {},
    { kafka: { brokers: inject("kafkaBrokers") }, mongodb: { uri, dbName }, topicPrefix: uniquePrefix(), commandPartitions: 2, shutdownGraceMs: 3000, ...options.config },
  );
  const worker = await Worker.create(config, { graphs: options.graphs, logger: silentLogger() });
  await worker.start();
  const gateways: Gateway[] = [];
  const urls: string[] = [];
  for (let i = 0; i < (options.gateways ?? 1); i++) {
    const gateway = await Gateway.create(config, { graphs: options.graphs, logger: silentLogger(), heartbeatMs: 1000 });
    gateways.push(gateway);
    urls.push((await gateway.listen({ port: 0, host: "127.0.0.1" })).url);
  }
  return {
    config,
    worker,
    gateways,
    urls,
    sdk: new Client({ apiUrl: urls[0] ?? "http://127.0.0.1:1", callerOptions: { maxRetries: 0 } }),
    stop: async () => {
      await Promise.allSettled(gateways.map((gateway) => gateway.close()));
      await worker.stop(2000);
      const client = new MongoClient(uri);
      await client.db(dbName).dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}

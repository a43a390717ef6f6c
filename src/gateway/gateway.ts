import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { mongoClientOptions } from "../adapters/mongo/client-options.js";
import { withMongoAccess } from "../adapters/mongo/security-errors.js";
import { openMongoReaders, type MongoReaders } from "../adapters/mongo/readers.js";
import { createClient, type RunbusClient } from "../client/client.js";
import type { RunbusConfig } from "../config.js";
import { RunbusError } from "../errors.js";
import { GraphRegistry, type GraphEntry } from "../graph/registry.js";
import { silentLogger, type Logger } from "../logger.js";
import { createGatewayApp } from "./app.js";
import { Assistants } from "./assistants.js";
import { GatewayAuthenticator } from "./auth.js";
import type { GatewayBackend } from "./backend.js";
import { assertServableBinding } from "./binding.js";
import { GraphState } from "./graph-state.js";
import { answers, type Check } from "../ops/health.js";

export interface GatewayOptions {
  graphs: Record<string, GraphEntry>;
  logger?: Logger;
  /** Between SSE heartbeats (default 5 s). */
  heartbeatMs?: number;
}

type Lifecycle = "CREATED" | "LISTENING" | "CLOSED";

/**
 * `runbus gateway`: the LangGraph Agent Server API over HTTP/SSE on Kafka and MongoDB. It keeps no
 * state: commands go to the workers over Kafka, streams are read from the run topics, threads,
 * runs and state from MongoDB, so any number of gateways serve the same runs.
 */
export class Gateway {
  private server: ServerType | null = null;
  private state: Lifecycle = "CREATED";

  constructor(
    private readonly config: RunbusConfig,
    private readonly client: RunbusClient,
    private readonly readers: MongoReaders,
    private readonly backend: GatewayBackend,
    private readonly authenticator: GatewayAuthenticator | null = null,
  ) {}

  /** Whether requests must carry credentials (RUNBUS_GATEWAY_API_KEYS_FILE or JWT settings). */
  get authenticates(): boolean {
    return this.authenticator !== null;
  }

  /**
   * Connects to the workers' Kafka (ready to send commands and read replies) and MongoDB, and
   * loads the graphs (read-only), so the first request pays no connection set-up.
   */
  static async create(config: RunbusConfig, options: GatewayOptions): Promise<Gateway> {
    if (!config.kafka || !config.mongodb) {
      throw new RunbusError(
        "config_invalid",
        "`runbus gateway` needs RUNBUS_KAFKA_BROKERS and RUNBUS_MONGODB_URI: it sends commands to the workers over Kafka and reads their threads from MongoDB.",
      );
    }
    const logger = options.logger ?? silentLogger();
    // First: a bad key file or JWT setting fails before any connection is made.
    const authenticator = await GatewayAuthenticator.create(config.gateway.auth);
    const mongodb = config.mongodb;
    const readers = await withMongoAccess(() => openMongoReaders({ uri: mongodb.uri, dbName: mongodb.dbName, clientOptions: mongoClientOptions(mongodb) }));
    const client = createClient({
      brokers: config.kafka.brokers,
      topicPrefix: config.topicPrefix,
      eventTopicMode: config.eventTopicMode,
      streamGapTimeoutMs: config.streamGapTimeoutMs,
      // A gateway streams many runs: one reader of the shared topic serves all it creates.
      tapSharedEvents: true,
      ssl: config.kafka.ssl,
      tls: config.kafka.tls,
      ...(config.kafka.sasl ? { sasl: config.kafka.sasl } : {}),
      logger,
    });
    try {
      await client.connect();
    } catch (error) {
      await Promise.allSettled([client.close(), readers.close()]);
      throw error;
    }
    const graphs = new GraphRegistry(options.graphs, readers.checkpointer);
    const backend: GatewayBackend = {
      client,
      threads: readers.threads,
      runs: readers.runs,
      state: new GraphState(graphs, readers.runs),
      assistants: new Assistants(graphs.ids()),
      logger,
      heartbeatMs: options.heartbeatMs ?? 5000,
    };
    return new Gateway(config, client, readers, backend, authenticator);
  }

  /** What `/readyz` checks on a gateway: the brokers and the database answer. */
  readiness(): Check[] {
    return [answers("kafka", () => this.client.ping()), answers("mongodb", () => this.readers.ping())];
  }

  /** Starts serving; resolves with the address once the socket listens. */
  async listen(options: { port?: number; host?: string } = {}): Promise<{ url: string; host: string; port: number }> {
    if (this.state !== "CREATED") throw new RunbusError("invalid_state", `Gateway cannot listen: it is ${this.state}.`);
    const host = options.host ?? this.config.gateway.host;
    assertServableBinding(host, this.config.gateway.auth);
    const app = createGatewayApp(this.backend, { corsOrigins: this.config.gateway.corsOrigins, maxBodyBytes: this.config.maxCommandBytes, authenticator: this.authenticator });
    const port = options.port ?? this.config.gateway.port;
    const address = await new Promise<AddressInfo>((resolve, reject) => {
      const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => resolve(info));
      server.once("error", reject);
      this.server = server;
    });
    this.state = "LISTENING";
    const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return { url: `http://${shownHost}:${address.port}`, host: address.address, port: address.port };
  }

  /** Stops taking requests, ends open streams, and closes the Kafka and MongoDB clients. */
  async close(): Promise<void> {
    if (this.state === "CLOSED") return;
    this.state = "CLOSED";
    const server = this.server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Open SSE streams would hold close() until their runs end.
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
    }
    await this.client.close();
    await this.readers.close();
  }
}

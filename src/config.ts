import { readFileSync } from "node:fs";
import { z } from "zod";
import { RunbusError } from "./errors.js";

/** How long a reader waits for a missing seq once a later one has arrived (RUNBUS_STREAM_GAP_TIMEOUT_MS). */
export const DEFAULT_STREAM_GAP_TIMEOUT_MS = 30_000;

/**
 * One typed configuration: from the environment, optionally merged over a JSON file
 * (RUNBUS_CONFIG_FILE). Unset Kafka or MongoDB settings mean the embedded in-process adapters.
 */
const configSchema = z.object({
  kafka: z
    .object({
      brokers: z.array(z.string().min(1)).min(1),
      clientId: z.string().default("runbus"),
      ssl: z.boolean().default(false),
      sasl: z
        .object({
          mechanism: z.enum(["plain", "scram-sha-256", "scram-sha-512"]),
          username: z.string(),
          password: z.string(),
        })
        .optional(),
    })
    .optional(),
  mongodb: z.object({ uri: z.string().min(1), dbName: z.string().default("runbus") }).optional(),
  topicPrefix: z.string().regex(/^[A-Za-z0-9._-]*$/).default(""),
  eventTopicMode: z.enum(["per-run", "shared"]).default("per-run"),
  runTopicRetentionMs: z.number().int().nonnegative().default(86_400_000),
  commandPartitions: z.number().int().positive().default(6),
  maxCommandBytes: z.number().int().positive().default(1_048_576),
  onWorkerLoss: z.enum(["resume", "fail"]).default("resume"),
  leaseMs: z.number().int().positive().default(30_000),
  shutdownGraceMs: z.number().int().nonnegative().default(30_000),
  streamGapTimeoutMs: z.number().int().positive().default(DEFAULT_STREAM_GAP_TIMEOUT_MS),
  graphsModule: z.string().optional(),
  /** The operations listener (/healthz, /readyz, /metrics) of `runbus worker` and `runbus gateway`; port null: off. */
  metrics: z
    .object({ port: z.number().int().min(0).max(65535).nullable().default(9464), host: z.string().min(1).default("127.0.0.1") })
    .default({ port: 9464, host: "127.0.0.1" }),
  gateway: z
    .object({
      port: z.number().int().min(0).max(65535).default(2024),
      host: z.string().min(1).default("127.0.0.1"),
      /** Origins a browser may call the gateway from (CORS); "*" for any. */
      corsOrigins: z.array(z.string().min(1)).default([]),
    })
    .default({ port: 2024, host: "127.0.0.1", corsOrigins: [] }),
  workerId: z.string().optional(),
  logLevel: z.string().default("info"),
});

export type RunbusConfig = z.infer<typeof configSchema>;
export type RunbusConfigInput = z.input<typeof configSchema>;

type Env = Record<string, string | undefined>;

function num(value: string | undefined): number | undefined {
  return value === undefined || value === "" ? undefined : Number(value);
}

function fromEnv(env: Env): RunbusConfigInput {
  const brokers = env.RUNBUS_KAFKA_BROKERS?.split(",").map((b) => b.trim()).filter(Boolean);
  const mechanism = env.RUNBUS_KAFKA_SASL_MECHANISM;
  return {
    ...(brokers?.length
      ? {
          kafka: {
            brokers,
            ...(env.RUNBUS_KAFKA_CLIENT_ID ? { clientId: env.RUNBUS_KAFKA_CLIENT_ID } : {}),
            ssl: env.RUNBUS_KAFKA_SSL === "true",
            ...(mechanism
              ? {
                  sasl: {
                    mechanism: mechanism as "plain",
                    username: env.RUNBUS_KAFKA_SASL_USERNAME ?? "",
                    password: env.RUNBUS_KAFKA_SASL_PASSWORD ?? "",
                  },
                }
              : {}),
          },
        }
      : {}),
    ...(env.RUNBUS_MONGODB_URI ? { mongodb: { uri: env.RUNBUS_MONGODB_URI, dbName: env.RUNBUS_MONGODB_DB ?? "runbus" } } : {}),
    topicPrefix: env.RUNBUS_TOPIC_PREFIX,
    eventTopicMode: env.RUNBUS_EVENT_TOPIC_MODE as "shared" | undefined,
    runTopicRetentionMs: num(env.RUNBUS_RUN_TOPIC_RETENTION_MS),
    commandPartitions: num(env.RUNBUS_COMMAND_PARTITIONS),
    maxCommandBytes: num(env.RUNBUS_MAX_COMMAND_BYTES),
    onWorkerLoss: env.RUNBUS_ON_WORKER_LOSS as "fail" | undefined,
    leaseMs: num(env.RUNBUS_LEASE_MS),
    shutdownGraceMs: num(env.RUNBUS_SHUTDOWN_GRACE_MS),
    streamGapTimeoutMs: num(env.RUNBUS_STREAM_GAP_TIMEOUT_MS),
    graphsModule: env.RUNBUS_GRAPHS,
    metrics:
      env.RUNBUS_METRICS_PORT || env.RUNBUS_METRICS_HOST
        ? withoutUndefined({
            port: env.RUNBUS_METRICS_PORT === "off" ? null : num(env.RUNBUS_METRICS_PORT),
            host: env.RUNBUS_METRICS_HOST || undefined,
          })
        : undefined,
    gateway:
      env.RUNBUS_GATEWAY_PORT || env.RUNBUS_GATEWAY_HOST || env.RUNBUS_GATEWAY_CORS_ORIGINS
        ? withoutUndefined({
            port: num(env.RUNBUS_GATEWAY_PORT),
            host: env.RUNBUS_GATEWAY_HOST || undefined,
            corsOrigins: env.RUNBUS_GATEWAY_CORS_ORIGINS?.split(",").map((o) => o.trim()).filter(Boolean),
          })
        : undefined,
    workerId: env.RUNBUS_WORKER_ID,
    logLevel: env.RUNBUS_LOG_LEVEL,
  };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Reads and validates the configuration; a bad value fails with config_invalid naming the setting. */
export function loadConfig(env: Env = process.env, overrides: RunbusConfigInput = {}): RunbusConfig {
  const file = env.RUNBUS_CONFIG_FILE ? (JSON.parse(readFileSync(env.RUNBUS_CONFIG_FILE, "utf8")) as RunbusConfigInput) : {};
  const parsed = configSchema.safeParse({ ...file, ...withoutUndefined(fromEnv(env)), ...withoutUndefined(overrides) });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new RunbusError("config_invalid", `Invalid runbus configuration: ${issues}.`);
  }
  return parsed.data;
}

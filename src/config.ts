import { readFileSync } from "node:fs";
import { z } from "zod";
import { RunbusError } from "./errors.js";

/** How long a reader waits for a missing seq once a later one has arrived (RUNBUS_STREAM_GAP_TIMEOUT_MS). */
export const DEFAULT_STREAM_GAP_TIMEOUT_MS = 30_000;

/**
 * One typed configuration: from the environment, optionally merged over a JSON file
 * (RUNBUS_CONFIG_FILE). Unset Kafka or MongoDB settings mean the embedded in-process adapters.
 */
const gatewayAuthSchema = z
  .object({
    /** A JSON file mapping each API key (or `sha256:<hex>` of it) to the identity it authenticates. */
    apiKeysFile: z.string().min(1).optional(),
    /** Bearer JWTs, verified by exactly one of: a shared HS256 secret, a PEM public key, a JWKS URL. */
    jwt: z
      .object({
        secret: z.string().min(32, "RUNBUS_GATEWAY_JWT_SECRET must be at least 32 characters").optional(),
        publicKeyFile: z.string().min(1).optional(),
        jwksUrl: z.url().optional(),
        /** Accepted `alg`s; default HS256 for a secret, RS256 for a public key or JWKS. */
        algorithms: z.array(z.string().min(1)).min(1).optional(),
        issuer: z.string().min(1, "RUNBUS_GATEWAY_JWT_ISSUER is required to verify JWTs"),
        audience: z.string().min(1, "RUNBUS_GATEWAY_JWT_AUDIENCE is required to verify JWTs"),
      })
      .refine((jwt) => [jwt.secret, jwt.publicKeyFile, jwt.jwksUrl].filter(Boolean).length === 1, {
        message: "give exactly one of RUNBUS_GATEWAY_JWT_SECRET, RUNBUS_GATEWAY_JWT_PUBLIC_KEY_FILE, RUNBUS_GATEWAY_JWKS_URL",
      })
      .optional(),
    /** Serve without authentication on a non-loopback address: for a gateway behind an authenticating proxy. */
    allowUnauthenticated: z.boolean().default(false),
  })
  .strict();

const configSchema = z.object({
  kafka: z
    .object({
      brokers: z.array(z.string().min(1)).min(1),
      clientId: z.string().default("runbus"),
      /** TLS to the brokers: on with RUNBUS_KAFKA_SSL=true or any of the files below. */
      ssl: z.boolean().default(false),
      tls: z
        .object({
          /** PEM CA bundle the brokers' certificates are verified against (else the system's CAs). */
          caFile: z.string().min(1).optional(),
          /** PEM client certificate and its private key, for brokers that require mTLS. */
          certFile: z.string().min(1).optional(),
          keyFile: z.string().min(1).optional(),
          rejectUnauthorized: z.boolean().default(true),
        })
        .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), {
          message: "RUNBUS_KAFKA_SSL_CERT_FILE and RUNBUS_KAFKA_SSL_KEY_FILE go together",
        })
        .default({ rejectUnauthorized: true }),
      sasl: z
        .object({
          mechanism: z.enum(["plain", "scram-sha-256", "scram-sha-512"]),
          username: z.string(),
          password: z.string(),
        })
        .optional(),
    })
    .optional(),
  mongodb: z
    .object({
      /** Credentials and TLS options may be given in the URI (mongodb://user:pass@host/?tls=true). */
      uri: z.string().min(1),
      dbName: z.string().default("runbus"),
      /** PEM CA bundle the server's certificate is verified against; turns TLS on. */
      tlsCAFile: z.string().min(1).optional(),
    })
    .optional(),
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
      /** Who may call the gateway (docs/security.md); nothing configured: loopback only. */
      auth: gatewayAuthSchema.default({ allowUnauthenticated: false }),
    })
    .default({ port: 2024, host: "127.0.0.1", corsOrigins: [], auth: { allowUnauthenticated: false } }),
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
  const tls = withoutUndefined({
    caFile: env.RUNBUS_KAFKA_SSL_CA_FILE || undefined,
    certFile: env.RUNBUS_KAFKA_SSL_CERT_FILE || undefined,
    keyFile: env.RUNBUS_KAFKA_SSL_KEY_FILE || undefined,
    rejectUnauthorized: env.RUNBUS_KAFKA_SSL_REJECT_UNAUTHORIZED === undefined ? undefined : env.RUNBUS_KAFKA_SSL_REJECT_UNAUTHORIZED !== "false",
  });
  return {
    ...(brokers?.length
      ? {
          kafka: {
            brokers,
            ...(env.RUNBUS_KAFKA_CLIENT_ID ? { clientId: env.RUNBUS_KAFKA_CLIENT_ID } : {}),
            ssl: env.RUNBUS_KAFKA_SSL === "true" || Boolean(tls.caFile || tls.certFile || tls.keyFile),
            tls,
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
    ...(env.RUNBUS_MONGODB_URI
      ? {
          mongodb: {
            uri: env.RUNBUS_MONGODB_URI,
            dbName: env.RUNBUS_MONGODB_DB ?? "runbus",
            ...(env.RUNBUS_MONGODB_TLS_CA_FILE ? { tlsCAFile: env.RUNBUS_MONGODB_TLS_CA_FILE } : {}),
          },
        }
      : {}),
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
      env.RUNBUS_GATEWAY_PORT || env.RUNBUS_GATEWAY_HOST || env.RUNBUS_GATEWAY_CORS_ORIGINS || gatewayAuthFromEnv(env)
        ? withoutUndefined({
            port: num(env.RUNBUS_GATEWAY_PORT),
            host: env.RUNBUS_GATEWAY_HOST || undefined,
            corsOrigins: env.RUNBUS_GATEWAY_CORS_ORIGINS?.split(",").map((o) => o.trim()).filter(Boolean),
            auth: gatewayAuthFromEnv(env),
          })
        : undefined,
    workerId: env.RUNBUS_WORKER_ID,
    logLevel: env.RUNBUS_LOG_LEVEL,
  };
}

/** The gateway's authentication settings from RUNBUS_GATEWAY_* variables; undefined when none is set. */
function gatewayAuthFromEnv(env: Env): z.input<typeof gatewayAuthSchema> | undefined {
  const jwt = withoutUndefined({
    secret: env.RUNBUS_GATEWAY_JWT_SECRET || undefined,
    publicKeyFile: env.RUNBUS_GATEWAY_JWT_PUBLIC_KEY_FILE || undefined,
    jwksUrl: env.RUNBUS_GATEWAY_JWKS_URL || undefined,
    algorithms: env.RUNBUS_GATEWAY_JWT_ALGORITHMS?.split(",").map((a) => a.trim()).filter(Boolean),
    issuer: env.RUNBUS_GATEWAY_JWT_ISSUER || undefined,
    audience: env.RUNBUS_GATEWAY_JWT_AUDIENCE || undefined,
  });
  const auth = withoutUndefined({
    apiKeysFile: env.RUNBUS_GATEWAY_API_KEYS_FILE || undefined,
    // Issuer or audience alone still asks for JWTs, so that a missing key source is reported.
    jwt: Object.keys(jwt).length > 0 ? { ...jwt, issuer: jwt.issuer ?? "", audience: jwt.audience ?? "" } : undefined,
    allowUnauthenticated: env.RUNBUS_GATEWAY_ALLOW_UNAUTHENTICATED === undefined ? undefined : env.RUNBUS_GATEWAY_ALLOW_UNAUTHENTICATED === "true",
  });
  return Object.keys(auth).length > 0 ? auth : undefined;
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

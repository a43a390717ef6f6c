import { destination } from "pino";
import { createClient, type RunbusClient } from "../client/client.js";
import { loadConfig, type RunbusConfig } from "../config.js";
import { RunbusError, isRunbusError, messageOf } from "../errors.js";
import { createLogger, type Logger } from "../logger.js";
import { kafkaSecurityError } from "../adapters/kafka/security-errors.js";
import { mongoSecurityError } from "../adapters/mongo/security-errors.js";
import { ID_PATTERN } from "../protocol/ids.js";

/**
 * What every command shares: the configuration from the environment, a client, a logger on
 * stderr, and one way to report an error: a single line `runbus: <message> (<code>)`.
 */

export type KafkaConfig = NonNullable<RunbusConfig["kafka"]>;
export type RunbusConfigWithKafka = RunbusConfig & { kafka: KafkaConfig };

/** Exit codes: 0 done, 1 the command ran and failed (or the run did not succeed), 2 bad setup or usage. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C while following a run (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** The configuration for a command that talks to Kafka; a clear config_invalid error when no broker is set. */
export function kafkaConfig(command: string, env: NodeJS.ProcessEnv = process.env): RunbusConfigWithKafka {
  const config = loadConfig(env);
  if (!config.kafka) {
    throw new RunbusError(
      "config_invalid",
      `RUNBUS_KAFKA_BROKERS is not set: \`runbus ${command}\` talks to Kafka; set it to the bootstrap brokers ` +
        "(comma-separated, e.g. localhost:9092), or use `runbus dev` for the embedded runtime",
    );
  }
  return config as RunbusConfigWithKafka;
}

/** Logs go to stderr, so stdout holds only what the command prints. */
export function cliLogger(level: string): Logger {
  return createLogger({ level, destination: destination({ dest: 2, sync: true }) });
}

/** The logger for client commands: quiet unless RUNBUS_LOG_LEVEL asks for more. */
export function clientLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  return cliLogger(env.RUNBUS_LOG_LEVEL ?? "error");
}

export function openClient(config: RunbusConfigWithKafka): RunbusClient {
  return createClient({
    brokers: config.kafka.brokers,
    topicPrefix: config.topicPrefix,
    eventTopicMode: config.eventTopicMode,
    streamGapTimeoutMs: config.streamGapTimeoutMs,
    ssl: config.kafka.ssl,
    tls: config.kafka.tls,
    ...(config.kafka.sasl ? { sasl: config.kafka.sasl } : {}),
    logger: clientLogger(),
  });
}

/** Runs `use` with a connected client and always closes it. */
export async function withClient<T>(command: string, use: (client: RunbusClient, config: RunbusConfigWithKafka) => Promise<T>): Promise<T> {
  const config = kafkaConfig(command);
  const client = openClient(config);
  try {
    return await use(client, config);
  } finally {
    await client.close();
  }
}

/** Validates a run or thread id given on the command line, before it reaches Kafka. */
export function checkId(kind: "run" | "thread", id: string): string {
  if (!ID_PATTERN.test(id)) {
    throw new RunbusError("invalid_command", `'${id}' is not a valid ${kind} id: use 1 to 128 letters, digits, '.', '_' or '-'`);
  }
  return id;
}

/** Aborts when the user presses Ctrl-C (or the process gets SIGTERM) while a command follows a stream. */
export function abortOnSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", abort);
      process.off("SIGTERM", abort);
    },
  };
}

export interface DescribedError {
  line: string;
  exitCode: number;
  /** False for failures a user can meet in normal use: no stack trace for those. */
  unexpected: boolean;
}

/** The one line an error is reported as, and the exit code it means. */
export function describeError(error: unknown): DescribedError {
  const { code, unexpected } = codeOf(error);
  const message = messageOf(error).replace(/\s+/g, " ").trim().replace(/\.$/, "");
  return { line: `runbus: ${message} (${code})`, exitCode: code === "config_invalid" ? EXIT_USAGE : EXIT_FAILED, unexpected };
}

function codeOf(error: unknown): { code: string; unexpected: boolean } {
  if (isRunbusError(error)) return { code: error.code, unexpected: false };
  const denied = kafkaSecurityError(error, "use Kafka") ?? mongoSecurityError(error);
  if (denied) return { code: denied.code, unexpected: false };
  const name = error instanceof Error ? error.name : "";
  if (name.startsWith("KafkaJS")) {
    const unreachable = /Connection|NumberOfRetriesExceeded|BrokerNotFound|Request ?Timeout/i.test(name);
    return { code: unreachable ? "kafka_unreachable" : "kafka_error", unexpected: false };
  }
  if (name.startsWith("Mongo")) {
    return { code: /ServerSelection|Network/.test(name) ? "mongodb_unreachable" : "mongodb_error", unexpected: false };
  }
  if (name === "AbortError") return { code: "aborted", unexpected: false };
  return { code: "internal", unexpected: true };
}

/** Prints the error as one line on stderr (plus its stack for an unexpected one at debug level) and returns the exit code. */
export function reportError(error: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  const described = describeError(error);
  stderr.write(`${described.line}\n`);
  if (described.unexpected && process.env.RUNBUS_LOG_LEVEL === "debug" && error instanceof Error && error.stack) {
    stderr.write(`${error.stack}\n`);
  }
  return described.exitCode;
}

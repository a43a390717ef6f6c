import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * The one structured logger. Connection strings are redacted wherever they appear as a field,
 * so credentials in a MongoDB URI or SASL settings never reach the logs.
 */
export function createLogger(options: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: options.name ?? "runbus",
      level: options.level ?? process.env.RUNBUS_LOG_LEVEL ?? "info",
      redact: {
        paths: ["mongodbUri", "*.mongodbUri", "password", "*.password", "sasl", "*.sasl", "uri", "*.uri"],
        censor: "[redacted]",
      },
    },
    // Default: stdout. The CLI passes stderr so logs never mix with what a command prints.
    options.destination,
  );
}

/** A logger that drops everything, for tests and embedded use that want silence. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** Removes user:password from a URI before it is shown to anyone. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/([^@/]+)@/, "//[redacted]@");
}

/**
 * Every runbus error carries a stable string `code` that survives serialization onto Kafka,
 * and says whether retrying the same operation can help.
 */
export type ErrorCode =
  | "config_invalid"
  | "kafka_unreachable"
  | "kafka_auth_failed"
  | "kafka_not_authorized"
  | "mongodb_unreachable"
  | "mongodb_auth_failed"
  | "mongodb_not_authorized"
  | "store_not_atomic"
  | "invalid_json"
  | "invalid_command"
  | "command_too_large"
  | "json_too_deep"
  | "unknown_graph"
  | "unsupported_stream_mode"
  | "thread_busy"
  | "thread_not_found"
  | "thread_exists"
  | "run_not_found"
  | "run_exists"
  | "run_active"
  | "no_pending_interrupt"
  | "graph_error"
  | "rollback_failed"
  | "bad_document"
  | "lease_lost"
  | "stream_gap"
  | "invalid_state";

export class RunbusError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RunbusError";
    this.code = code;
    this.retryable = options.retryable ?? false;
  }

  toJSON(): { code: ErrorCode; message: string; retryable: boolean } {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export function isRunbusError(error: unknown, code?: ErrorCode): error is RunbusError {
  return error instanceof RunbusError && (code === undefined || error.code === code);
}

/** The message of anything thrown, without assuming it is an Error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

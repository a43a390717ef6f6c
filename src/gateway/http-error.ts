import { isRunbusError, messageOf, type ErrorCode } from "../errors.js";

/**
 * An error answered with an HTTP status. The body is `{"detail": message, "code": code}` — the
 * LangGraph API server answers `detail`, runbus adds its stable error code.
 */
export class HttpError extends Error {
  constructor(
    readonly status: 404 | 409 | 422 | 501 | 503,
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** The reference server's answer to a run on a busy thread under `reject`. */
export const THREAD_BUSY_MESSAGE = "Thread is already running a task. Wait for it to finish or choose a different multitask strategy.";

const STATUS_OF: Partial<Record<ErrorCode, HttpError["status"]>> = {
  thread_not_found: 404,
  run_not_found: 404,
  unknown_graph: 404,
  thread_exists: 409,
  run_exists: 409,
  run_active: 409,
  no_pending_interrupt: 422,
  thread_busy: 422,
  invalid_command: 422,
  invalid_json: 422,
  command_too_large: 422,
  json_too_deep: 422,
  unsupported_stream_mode: 422,
  invalid_state: 422,
  kafka_unreachable: 503,
  kafka_auth_failed: 503,
  kafka_not_authorized: 503,
  mongodb_unreachable: 503,
  mongodb_auth_failed: 503,
  mongodb_not_authorized: 503,
};

/** A worker's rejection (its reply's code and reason) as the HTTP error a client of the API expects. */
export function rejection(code: string | undefined, reason: string | undefined): HttpError {
  const status = STATUS_OF[code as ErrorCode] ?? 422;
  const message = code === "thread_busy" ? THREAD_BUSY_MESSAGE : (reason ?? "The command was rejected.");
  return new HttpError(status, message, code ?? "invalid_command");
}

/** Any error as an HTTP status and body; runbus errors keep their code, the rest are 500s. */
export function toHttp(error: unknown): { status: number; body: { detail: string; code: string } } {
  if (error instanceof HttpError) return { status: error.status, body: { detail: error.message, code: error.code } };
  if (isRunbusError(error)) return { status: STATUS_OF[error.code] ?? 500, body: { detail: error.message, code: error.code } };
  return { status: 500, body: { detail: messageOf(error), code: "internal" } };
}

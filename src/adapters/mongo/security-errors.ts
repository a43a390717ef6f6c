import { RunbusError } from "../../errors.js";

/** MongoDB's server error codes for refused credentials and for a user without the needed role. */
const AUTHENTICATION_FAILED = 18;
const UNAUTHORIZED = 13;

/**
 * The server refused who runbus is (mongodb_auth_failed) or what it asked (mongodb_not_authorized):
 * terminal, like their Kafka counterparts, since waiting cannot change either. Anything else: undefined.
 */
export function mongoSecurityError(error: unknown): RunbusError | undefined {
  for (let cause: unknown = error, depth = 0; cause && typeof cause === "object" && depth < 8; depth++) {
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (code === AUTHENTICATION_FAILED) {
      return new RunbusError("mongodb_auth_failed", `MongoDB refused the credentials in RUNBUS_MONGODB_URI: ${String(message)}`, { cause: error });
    }
    if (code === UNAUTHORIZED) {
      return new RunbusError("mongodb_not_authorized", `MongoDB denied a command to the configured user (it needs readWrite on the runbus database): ${String(message)}`, { cause: error });
    }
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Runs `work`, turning a refusal of the credentials or a denied command into its RunbusError. */
export async function withMongoAccess<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw mongoSecurityError(error) ?? error;
  }
}

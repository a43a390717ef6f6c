import { RunbusError } from "../../errors.js";

/** Kafka's authorization failures by the resource type they concern (the broker names no resource). */
const DENIED: Record<string, string> = {
  TOPIC_AUTHORIZATION_FAILED: "topic",
  GROUP_AUTHORIZATION_FAILED: "group",
  CLUSTER_AUTHORIZATION_FAILED: "cluster",
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "transactional id",
};

/** SASL failures: wrong credentials, or a mechanism the listener does not offer. */
const SASL = new Set(["SASL_AUTHENTICATION_FAILED", "UNSUPPORTED_SASL_MECHANISM", "ILLEGAL_SASL_STATE"]);

/** TLS handshake failures of Node's tls module: an untrusted, expired or misnamed certificate. */
const TLS = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
  "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
  "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
]);

interface KafkaErrorLike {
  name?: unknown;
  type?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/**
 * The broker refused who runbus is (kafka_auth_failed) or what it asked (kafka_not_authorized):
 * waiting cannot change either, so these end `waitUntilReady` and a consumer's restarts at once.
 * `attempt` says what was asked, in ACL terms where it is known ("Read topic runbus.commands"),
 * because Kafka's own answer names neither the resource nor the operation. Anything else: undefined.
 */
export function kafkaSecurityError(error: unknown, attempt: string): RunbusError | undefined {
  // kafkajs wraps: a retry's cause, a request's per-topic errors (createTopics' aggregate).
  const pending: unknown[] = [error];
  for (let seen = 0; pending.length > 0 && seen < 32; seen++) {
    const cause = pending.shift();
    if (!cause || typeof cause !== "object") continue;
    const e = cause as KafkaErrorLike;
    const type = typeof e.type === "string" ? e.type : "";
    const code = typeof e.code === "string" ? e.code : "";
    const resource = DENIED[type];
    if (resource !== undefined) {
      return new RunbusError("kafka_not_authorized", `Kafka denied ${attempt}: the principal lacks an ACL for this ${resource} (${type}).`, { cause: error });
    }
    if (SASL.has(type) || e.name === "KafkaJSSASLAuthenticationError") {
      return new RunbusError("kafka_auth_failed", `Kafka refused the SASL credentials while trying to ${attempt}: ${String(e.message)}.`, { cause: error });
    }
    if (TLS.has(code)) {
      return new RunbusError("kafka_auth_failed", `The TLS handshake with Kafka failed while trying to ${attempt}: ${String(e.message)}.`, { cause: error });
    }
    pending.push(e.cause, ...(Array.isArray(e.errors) ? e.errors : []));
  }
  return undefined;
}

/** Runs `work`, turning a security refusal into its RunbusError (see kafkaSecurityError). */
export async function withKafkaAccess<T>(attempt: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw kafkaSecurityError(error, attempt) ?? error;
  }
}

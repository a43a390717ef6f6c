import { logLevel, type LogEntry } from "kafkajs";

export type PinoLevel = "error" | "warn" | "info" | "debug";

const LEVELS: Record<number, PinoLevel> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/**
 * Broker answers kafkajs logs as errors although they are part of normal operation and it
 * retries them: a group coordinator still loading or not yet elected on a fresh cluster, a
 * partition leader moving, a topic's metadata not yet everywhere right after its creation, a
 * group rebalancing. Logged at error they would page an operator on every start; they are info.
 * (kafkajs's own messages for those error codes.)
 */
const TRANSIENT = new Set([
  "The coordinator is loading and hence can't process requests for this group",
  "The group coordinator is not available",
  "This is not the correct coordinator for this group",
  "There is no leader for this topic-partition as we are in the middle of a leadership election",
  "This server is not the leader for that topic-partition",
  "This server does not host this topic-partition",
  "The group is rebalancing, so a rejoin is needed",
  "The leader epoch in the request is older than the epoch on the broker",
  "The leader epoch in the request is newer than the epoch on the broker",
]);

/** The level a kafkajs log entry is written at: its own, except transient broker answers at info. */
export function kafkaLogLevel(level: LogEntry["level"], entry: LogEntry["log"]): PinoLevel {
  const mapped = LEVELS[level] ?? "info";
  if (mapped !== "error" && mapped !== "warn") return mapped;
  const error = (entry as { error?: unknown }).error;
  return typeof error === "string" && TRANSIENT.has(error) ? "info" : mapped;
}

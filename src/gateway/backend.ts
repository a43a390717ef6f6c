import type { RunbusClient } from "../client/client.js";
import type { Logger } from "../logger.js";
import type { RunStore, ThreadStore } from "../ports.js";
import type { Assistants } from "./assistants.js";
import type { GraphState } from "./graph-state.js";

/**
 * What the routes use: commands and run streams over Kafka (the runbus client), reads of threads,
 * runs and graph state from MongoDB. The gateway holds no state of its own, so any number of
 * gateways serve the same runs.
 */
export interface GatewayBackend {
  client: Pick<RunbusClient, "runs" | "threads" | "send">;
  threads: Pick<ThreadStore, "get" | "list" | "count">;
  runs: Pick<RunStore, "get" | "listByThread">;
  state: GraphState;
  assistants: Assistants;
  logger: Logger;
  /** Between SSE heartbeats (comment lines the SDK's idle watchdog counts). */
  heartbeatMs: number;
}

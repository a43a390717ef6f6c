import type { RunbusConfig } from "../config.js";
import { RunbusError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Check } from "../ops/health.js";
import type { RunbusMetrics } from "../ops/metrics.js";
import { OpsServer } from "../ops/ops-server.js";

/** Starts the operations listener unless RUNBUS_METRICS_PORT=off; logs where it listens. */
export async function startOps(
  config: RunbusConfig,
  parts: { metrics: RunbusMetrics; liveness: readonly Check[]; readiness: readonly Check[]; logger: Logger },
): Promise<OpsServer | null> {
  const { port, host } = config.metrics;
  if (port === null) return null;
  let ops: OpsServer;
  try {
    ops = await OpsServer.start({ port, host, ...parts });
  } catch (error) {
    if ((error as { code?: string }).code !== "EADDRINUSE") throw error;
    throw new RunbusError(
      "config_invalid",
      `The operations port ${host}:${port} is in use: set RUNBUS_METRICS_PORT to another port, 0 for any free one, or off`,
    );
  }
  parts.logger.info({ url: ops.url }, "operations endpoints listening: /healthz /readyz /metrics (no authentication: keep this address private)");
  return ops;
}

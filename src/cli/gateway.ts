import { loadConfig } from "../config.js";
import { assertServableBinding, isLoopback } from "../gateway/binding.js";
import { Gateway } from "../gateway/gateway.js";
import { eventLoopLag } from "../ops/health.js";
import { RunbusMetrics } from "../ops/metrics.js";
import { startTracing } from "../ops/tracing.js";
import { waitUntilReady } from "../wait-until-ready.js";
import { startOps } from "./ops.js";
import { cliLogger, EXIT_OK } from "./context.js";
import { resolveGraphs } from "./worker.js";

export interface GatewayCommandOptions {
  graphs?: string;
  port?: number;
  host?: string;
}

/**
 * `runbus gateway`: serves the LangGraph Agent Server API until SIGTERM or SIGINT, then closes
 * its listener and open streams (the runs go on in the workers) and exits 0.
 */
export async function gatewayCommand(options: GatewayCommandOptions): Promise<number> {
  const config = loadConfig();
  const logger = cliLogger(config.logLevel);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  // Refused before waiting for Kafka and MongoDB: an open gateway on a public address is a config error.
  assertServableBinding(options.host ?? config.gateway.host, config.gateway.auth);
  const { graphs, source } = await resolveGraphs(options.graphs ?? config.graphsModule);
  const gateway = await waitUntilReady("the gateway's Kafka and MongoDB", () => Gateway.create(config, { graphs, logger }), { logger, signal: stop.signal });
  const stopTracing = await startTracing("runbus-gateway");
  const lag = eventLoopLag(5000);
  const ops = await startOps(config, { metrics: new RunbusMetrics(), liveness: [lag], readiness: gateway.readiness(), logger });
  try {
    const { url, host } = await gateway.listen({
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
    });
    logger.info({ url, graphs: Object.keys(graphs), source, prefix: config.topicPrefix, authentication: gateway.authenticates ? "on" : "off" }, "gateway listening");
    if (!gateway.authenticates && isLoopback(host)) {
      logger.info({ host }, "authentication off, so bound to loopback only: to serve other machines set RUNBUS_GATEWAY_API_KEYS_FILE or RUNBUS_GATEWAY_JWT_*, and RUNBUS_GATEWAY_HOST (docs/security.md)");
    } else if (!gateway.authenticates) {
      logger.warn({ host }, "authentication off (RUNBUS_GATEWAY_ALLOW_UNAUTHENTICATED=true): every thread and run is open to whoever reaches this address");
    } else if (isLoopback(host)) logger.info("bound to loopback only: set RUNBUS_GATEWAY_HOST or --host to serve other machines");
    process.stdout.write(`listening on ${url}\n`);
    await new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener("abort", () => resolve(), { once: true })));
    logger.info("gateway stopping");
  } finally {
    await gateway.close();
    await ops?.close();
    lag.stop();
    await stopTracing?.();
  }
  return EXIT_OK;
}

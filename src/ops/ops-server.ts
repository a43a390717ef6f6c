import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../logger.js";
import { evaluate, type Check } from "./health.js";
import type { RunbusMetrics } from "./metrics.js";

export interface OpsServerOptions {
  port: number;
  host: string;
  metrics: RunbusMetrics;
  /** `/healthz`: is the process alive and not stuck. */
  liveness: readonly Check[];
  /** `/readyz`: can it do its work now (broker, database, consumer group). */
  readiness: readonly Check[];
  logger: Logger;
}

/**
 * The operations listener of a worker or gateway: `/healthz`, `/readyz` (200, or 503 with the
 * reasons as JSON) and `/metrics` (Prometheus text format). No authentication, as Prometheus
 * endpoints go: bind it to a private address.
 */
export class OpsServer {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(options: OpsServerOptions): Promise<OpsServer> {
    const server = createServer((request, response) => {
      const path = (request.url ?? "/").split("?")[0];
      const answer = async (): Promise<void> => {
        if (request.method !== "GET") return send(405, "text/plain", "GET only\n");
        if (path === "/metrics") return send(200, options.metrics.registry.contentType, await options.metrics.render());
        const checks = path === "/healthz" ? options.liveness : path === "/readyz" ? options.readiness : null;
        if (!checks) return send(404, "text/plain", "/healthz, /readyz or /metrics\n");
        const report = await evaluate(checks);
        return send(report.ok ? 200 : 503, "application/json", `${JSON.stringify({ status: report.ok ? "ok" : "unavailable", ...report })}\n`);
      };
      const send = (status: number, type: string, body: string) => {
        response.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
        response.end(body);
      };
      answer().catch((error: unknown) => {
        options.logger.error({ err: error, path }, "ops request failed");
        if (!response.headersSent) send(500, "text/plain", "internal error\n");
      });
    });
    const address = await new Promise<AddressInfo>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => resolve(server.address() as AddressInfo));
    });
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return new OpsServer(server, `http://${host}:${address.port}`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

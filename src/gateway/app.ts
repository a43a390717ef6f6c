import { context } from "@opentelemetry/api";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { contextFromHeaders } from "../ops/tracing.js";
import { authMiddleware, type GatewayAuthenticator } from "./auth.js";
import type { GatewayBackend } from "./backend.js";
import { HttpError, toHttp } from "./http-error.js";
import { assistantRoutes } from "./routes/assistants.js";
import { metaRoutes } from "./routes/meta.js";
import { runRoutes } from "./routes/runs.js";
import { threadRoutes } from "./routes/threads.js";

export interface GatewayAppOptions {
  /** Origins allowed by CORS; `["*"]` for any. Empty: no CORS headers. */
  corsOrigins: readonly string[];
  /** Who may call; null or absent: anyone who can reach the port (the gateway then binds loopback only). */
  authenticator?: GatewayAuthenticator | null;
  /** The largest request body taken (default 1 MiB): a body becomes one command, which has a limit too. */
  maxBodyBytes?: number;
}

/** The headers the SDKs read from responses, which a browser hides from scripts unless exposed. */
const EXPOSED_HEADERS = ["Content-Location", "Location", "X-Pagination-Total", "X-Pagination-Next"];

/** The LangGraph Agent Server API on a runbus backend, as a Hono app (no I/O of its own beyond the backend). */
export function createGatewayApp(backend: GatewayBackend, options: GatewayAppOptions): Hono {
  const app = new Hono();
  if (options.corsOrigins.length > 0) {
    const any = options.corsOrigins.includes("*");
    app.use("*", cors({ origin: any ? "*" : [...options.corsOrigins], exposeHeaders: EXPOSED_HEADERS, maxAge: 600 }));
  }
  // After CORS: a preflight carries no credentials, and a 401 must still be readable by the page.
  if (options.authenticator) app.use("*", authMiddleware(options.authenticator, backend.logger));
  // A request's W3C traceparent continues into the commands it sends and the runs they start.
  app.use("*", (c, next) => {
    const traceparent = c.req.header("traceparent");
    if (!traceparent) return next();
    const tracestate = c.req.header("tracestate");
    return context.with(contextFromHeaders({ traceparent, ...(tracestate ? { tracestate } : {}) }), next);
  });
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  app.use("*", bodyLimit({ maxSize: maxBodyBytes, onError: (c) => c.json({ detail: `The request body is larger than ${maxBodyBytes} bytes.`, code: "request_too_large" }, 413) }));
  app.onError((error, c) => {
    const { status, body } = toHttp(error);
    if (status >= 500) backend.logger.error({ err: error, path: c.req.path, method: c.req.method }, "request failed");
    return c.json(body, status as 500);
  });
  app.notFound((c) => c.json({ detail: `No route for ${c.req.method} ${c.req.path}.`, code: "not_found" }, 404));
  app.patch("/threads/:thread_id/state", () => {
    throw new HttpError(501, "Patching a checkpoint's metadata is not supported: runbus checkpoints are written by runs and update_state only.", "not_implemented");
  });
  app.route("/", metaRoutes(backend));
  app.route("/", assistantRoutes(backend));
  app.route("/", runRoutes(backend));
  app.route("/", threadRoutes(backend));
  return app;
}

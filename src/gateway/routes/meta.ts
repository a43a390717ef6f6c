import { Hono } from "hono";
import type { GatewayBackend } from "../backend.js";

const VERSION = "0.1.0";

export function metaRoutes(_backend: GatewayBackend): Hono {
  const api = new Hono();
  api.get("/ok", (c) => c.json({ ok: true }));
  api.get("/info", (c) => c.json({ version: VERSION, runtime: "runbus", flags: { assistants: true, crons: false, langsmith: false } }));
  return api;
}

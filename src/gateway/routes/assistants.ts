import { Hono } from "hono";
import type { GatewayBackend } from "../backend.js";
import type { Assistant } from "../assistants.js";
import { HttpError } from "../http-error.js";
import { assistantSearchBody, parseRequest } from "../schemas.js";
import { readJson } from "./request.js";

/** One assistant per served graph (read-only: assistants are the graphs the workers serve). */
export function assistantRoutes(backend: GatewayBackend): Hono {
  const api = new Hono();
  const find = (id: string): Assistant => {
    const assistant = backend.assistants.find(id);
    if (!assistant) throw new HttpError(404, `Assistant ${id} not found.`, "unknown_graph");
    return assistant;
  };
  const search = (body: ReturnType<typeof assistantSearchBody.parse>) =>
    backend.assistants
      .all()
      .filter((a) => (body.graph_id === undefined || a.graph_id === body.graph_id) && (body.name === undefined || a.name === body.name))
      .filter((a) => Object.entries(body.metadata ?? {}).every(([key, value]) => JSON.stringify(a.metadata[key]) === JSON.stringify(value)));

  api.post("/assistants/search", async (c) => {
    const body = parseRequest(assistantSearchBody, await readJson(c), "assistant search");
    const matching = search(body);
    const offset = body.offset ?? 0;
    const page = matching.slice(offset, offset + (body.limit ?? 10));
    c.header("X-Pagination-Total", String(matching.length));
    if (offset + page.length < matching.length) c.header("X-Pagination-Next", String(offset + page.length));
    return c.json(page);
  });
  api.post("/assistants/count", async (c) => c.json(search(parseRequest(assistantSearchBody, await readJson(c), "assistant count")).length));
  api.get("/assistants/:id", (c) => c.json(find(c.req.param("id"))));
  api.get("/assistants/:id/graph", async (c) => {
    const xray = c.req.query("xray");
    const depth = xray === undefined || xray === "false" ? false : xray === "true" ? true : Number(xray);
    if (typeof depth === "number" && !Number.isInteger(depth)) throw new HttpError(422, "xray must be true, false or an integer depth.", "invalid_request");
    return c.json(await backend.state.drawing(find(c.req.param("id")).graph_id, depth));
  });
  api.get("/assistants/:id/schemas", (c) => {
    const { graph_id } = find(c.req.param("id"));
    // Schemas come from the graph's source in the reference server; runbus serves compiled graphs.
    const open = { type: "object", additionalProperties: true };
    return c.json({ graph_id, input_schema: open, output_schema: open, state_schema: open, config_schema: open, context_schema: open });
  });
  api.get("/assistants/:id/subgraphs", (c) => {
    find(c.req.param("id"));
    return c.json({});
  });
  return api;
}

import { randomUUID } from "node:crypto";
import { Hono, type Context } from "hono";
import type { ThreadRecord } from "../../ports.js";
import type { GatewayBackend } from "../backend.js";
import { HttpError, rejection } from "../http-error.js";
import { historyBody, parseRequest, threadCountBody, threadCreateBody, threadIdSchema, threadPatchBody, threadSearchBody, updateStateBody } from "../schemas.js";
import { toApiThread } from "../shapes.js";
import { readJson } from "./request.js";

/**
 * Threads: reads come from MongoDB (the thread store and, for state and history, the checkpointer
 * through the served graphs); every write is a command a worker applies, answered by its reply.
 */
export function threadRoutes(backend: GatewayBackend): Hono {
  const api = new Hono();

  api.post("/threads", async (c) => {
    const body = parseRequest(threadCreateBody, await readJson(c), "thread");
    if (body.ttl != null) throw new HttpError(422, "ttl is not supported: runbus keeps a thread until it is deleted.", "invalid_request");
    const threadId = body.thread_id ?? randomUUID();
    const reply = await backend.client.threads.create(threadId, body.metadata ?? {}, body.if_exists ?? "raise");
    if (!reply.accepted) throw rejection(reply.code, reply.reason);
    return c.json(toApiThread(await mustGet(backend, threadId)));
  });

  api.post("/threads/search", async (c) => {
    const body = parseRequest(threadSearchBody, await readJson(c), "thread search");
    if (body.values !== undefined) throw new HttpError(422, "Searching threads by values is not supported; search by metadata or status.", "invalid_request");
    const query = { ...(body.ids ? { ids: body.ids } : {}), ...(body.status ? { status: body.status } : {}), ...(body.metadata ? { metadata: body.metadata } : {}) };
    const offset = body.offset ?? 0;
    const limit = body.limit ?? 10;
    const by = body.sort_by === "state_updated_at" ? "updated_at" : (body.sort_by ?? "created_at");
    const sort = { by, order: body.sort_order ?? "desc" } as const;
    const [threads, total] = await Promise.all([backend.threads.list({ ...query, sort, offset, limit }), backend.threads.count(query)]);
    const withValues = !body.select || body.select.includes("values") || body.select.includes("interrupts");
    const shaped = await Promise.all(threads.map(async (thread) => toApiThread(thread, withValues ? await backend.state.values(thread) : undefined)));
    c.header("X-Pagination-Total", String(total));
    if (offset + threads.length < total) c.header("X-Pagination-Next", String(offset + threads.length));
    return c.json(body.select ? shaped.map((thread) => pick(thread, body.select!)) : shaped);
  });

  api.post("/threads/count", async (c) => {
    const body = parseRequest(threadCountBody, await readJson(c), "thread count");
    if (body.values !== undefined) throw new HttpError(422, "Counting threads by values is not supported; count by metadata or status.", "invalid_request");
    return c.json(await backend.threads.count({ ...(body.status ? { status: body.status } : {}), ...(body.metadata ? { metadata: body.metadata } : {}) }));
  });

  api.get("/threads/:thread_id", async (c) => {
    const thread = await mustGet(backend, threadIdOf(c));
    return c.json(toApiThread(thread, await backend.state.values(thread)));
  });

  api.patch("/threads/:thread_id", async (c) => {
    const threadId = threadIdOf(c);
    const body = parseRequest(threadPatchBody, await readJson(c), "thread patch");
    const reply = await backend.client.threads.update(threadId, body.metadata);
    if (!reply.accepted) throw rejection(reply.code, reply.reason);
    return c.json(toApiThread(await mustGet(backend, threadId)));
  });

  api.delete("/threads/:thread_id", async (c) => {
    // As the API server does, deleting a thread also stops its runs.
    const reply = await backend.client.threads.delete(threadIdOf(c), { force: true });
    if (!reply.accepted) throw rejection(reply.code, reply.reason);
    return c.body(null, 204);
  });

  api.get("/threads/:thread_id/state", async (c) => {
    const thread = await mustGet(backend, threadIdOf(c));
    return c.json(await backend.state.state(thread, undefined, c.req.query("subgraphs") === "true"));
  });

  api.get("/threads/:thread_id/state/:checkpoint_id", async (c) => {
    const thread = await mustGet(backend, threadIdOf(c));
    return c.json(await backend.state.state(thread, c.req.param("checkpoint_id"), c.req.query("subgraphs") === "true"));
  });

  api.post("/threads/:thread_id/state/checkpoint", async (c) => {
    const thread = await mustGet(backend, threadIdOf(c));
    const body = (await readJson(c)) as { checkpoint?: { checkpoint_id?: string }; subgraphs?: boolean };
    return c.json(await backend.state.state(thread, body.checkpoint?.checkpoint_id, body.subgraphs === true));
  });

  api.post("/threads/:thread_id/state", async (c) => {
    const thread = await mustGet(backend, threadIdOf(c));
    const body = parseRequest(updateStateBody, await readJson(c), "state update");
    const graphId = await backend.state.graphIdOf(thread);
    if (!graphId) throw new HttpError(422, `Thread ${thread.thread_id} has no graph yet: run it once, or create it with metadata.graph_id.`, "invalid_request");
    const checkpointId = body.checkpoint_id ?? body.checkpoint?.checkpoint_id ?? undefined;
    const reply = await backend.client.send({
      type: "thread.update_state",
      thread_id: thread.thread_id,
      graph_id: graphId,
      values: body.values ?? null,
      ...(body.as_node ? { as_node: body.as_node } : {}),
      ...(checkpointId ? { checkpoint_id: checkpointId } : {}),
    });
    if (!reply.accepted) throw rejection(reply.code, reply.reason);
    return c.json(reply.result ?? {});
  });

  api.post("/threads/:thread_id/copy", async (c) => {
    const threadId = threadIdOf(c);
    const copyId = randomUUID();
    const reply = await backend.client.send({ type: "thread.copy", thread_id: threadId, new_thread_id: copyId });
    if (!reply.accepted) throw rejection(reply.code, reply.reason);
    const copy = await mustGet(backend, copyId);
    return c.json(toApiThread(copy, await backend.state.values(copy)));
  });

  api.get("/threads/:thread_id/history", async (c) => {
    const thread = await mustGet(backend, threadIdOf(c));
    const limit = Number(c.req.query("limit") ?? 10);
    if (!Number.isInteger(limit) || limit < 1) throw new HttpError(422, "limit must be a positive integer.", "invalid_request");
    return c.json(await backend.state.history(thread, { limit, before: c.req.query("before") }));
  });

  api.post("/threads/:thread_id/history", async (c) => {
    const thread = await mustGet(backend, threadIdOf(c));
    const body = parseRequest(historyBody, await readJson(c), "history request");
    const before = typeof body.before === "string" ? body.before : (body.before?.configurable?.checkpoint_id as string | undefined);
    return c.json(await backend.state.history(thread, { limit: body.limit ?? 10, before, metadata: body.metadata, checkpointId: body.checkpoint?.checkpoint_id ?? undefined }));
  });

  return api;
}

export function threadIdOf(c: Context): string {
  return parseRequest(threadIdSchema, c.req.param("thread_id"), "thread id");
}

export async function mustGet(backend: GatewayBackend, threadId: string): Promise<ThreadRecord> {
  const thread = await backend.threads.get(threadId);
  if (!thread) throw new HttpError(404, `Thread ${threadId} not found.`, "thread_not_found");
  return thread;
}

function pick<T extends object>(value: T, keys: readonly string[]): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => keys.includes(key))) as Partial<T>;
}

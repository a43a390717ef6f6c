import { randomUUID } from "node:crypto";
import { Hono, type Context } from "hono";
import { threadBelongsTo, type ThreadRecord } from "../../ports.js";
import { ownerOf } from "../auth.js";
import type { GatewayBackend } from "../backend.js";
import { HttpError, rejection } from "../http-error.js";
import { historyBody, parseRequest, stateCheckpointBody, threadCountBody, threadCreateBody, threadIdSchema, threadPatchBody, threadSearchBody, updateStateBody } from "../schemas.js";
import { toApiThread } from "../shapes.js";
import { readJson } from "./request.js";

/**
 * Threads: reads come from MongoDB (the thread store and, for state and history, the checkpointer
 * through the served graphs); every write is a command a worker applies, answered by its reply.
 * Behind authentication each caller sees only the threads it owns: any other is a 404.
 */
export function threadRoutes(backend: GatewayBackend): Hono {
  const api = new Hono();

  api.post("/threads", async (c) => {
    const body = parseRequest(threadCreateBody, await readJson(c), "thread");
    if (body.ttl != null) throw new HttpError(422, "ttl is not supported: runbus keeps a thread until it is deleted.", "invalid_request");
    const threadId = body.thread_id ?? randomUUID();
    const owner = ownerOf(c);
    const reply = await backend.client.send({ type: "thread.create", thread_id: threadId, metadata: body.metadata ?? {}, if_exists: body.if_exists ?? "raise", ...(owner ? { owner } : {}) });
    if (!reply.accepted) throw rejection(reply.code, reply.reason);
    return c.json(toApiThread(await mustGet(backend, threadId, owner)));
  });

  api.post("/threads/search", async (c) => {
    const body = parseRequest(threadSearchBody, await readJson(c), "thread search");
    if (body.values !== undefined) throw new HttpError(422, "Searching threads by values is not supported; search by metadata or status.", "invalid_request");
    const owner = ownerOf(c);
    const query = {
      ...(body.ids ? { ids: body.ids } : {}),
      ...(body.status ? { status: body.status } : {}),
      ...(body.metadata ? { metadata: body.metadata } : {}),
      ...(owner ? { owner } : {}),
    };
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
    const owner = ownerOf(c);
    return c.json(await backend.threads.count({ ...(body.status ? { status: body.status } : {}), ...(body.metadata ? { metadata: body.metadata } : {}), ...(owner ? { owner } : {}) }));
  });

  api.get("/threads/:thread_id", async (c) => {
    const thread = await mustGetOwn(c, backend);
    return c.json(toApiThread(thread, await backend.state.values(thread)));
  });

  api.patch("/threads/:thread_id", async (c) => {
    const threadId = (await mustGetOwn(c, backend)).thread_id;
    const body = parseRequest(threadPatchBody, await readJson(c), "thread patch");
    const reply = await backend.client.threads.update(threadId, body.metadata);
    if (!reply.accepted) throw rejection(reply.code, reply.reason);
    return c.json(toApiThread(await mustGet(backend, threadId, ownerOf(c))));
  });

  api.delete("/threads/:thread_id", async (c) => {
    // As the API server does, deleting a thread also stops its runs.
    if (ownerOf(c)) await mustGetOwn(c, backend);
    const reply = await backend.client.threads.delete(threadIdOf(c), { force: true });
    if (!reply.accepted) throw rejection(reply.code, reply.reason);
    return c.body(null, 204);
  });

  api.get("/threads/:thread_id/state", async (c) => {
    const thread = await mustGetOwn(c, backend);
    return c.json(await backend.state.state(thread, undefined, c.req.query("subgraphs") === "true"));
  });

  api.get("/threads/:thread_id/state/:checkpoint_id", async (c) => {
    const thread = await mustGetOwn(c, backend);
    return c.json(await backend.state.state(thread, c.req.param("checkpoint_id"), c.req.query("subgraphs") === "true"));
  });

  api.post("/threads/:thread_id/state/checkpoint", async (c) => {
    const thread = await mustGetOwn(c, backend);
    const body = parseRequest(stateCheckpointBody, await readJson(c), "state request");
    return c.json(await backend.state.state(thread, body.checkpoint?.checkpoint_id ?? undefined, body.subgraphs === true));
  });

  api.post("/threads/:thread_id/state", async (c) => {
    const thread = await mustGetOwn(c, backend);
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
    const owner = ownerOf(c);
    const threadId = owner ? (await mustGetOwn(c, backend)).thread_id : threadIdOf(c);
    const copyId = randomUUID();
    const reply = await backend.client.send({ type: "thread.copy", thread_id: threadId, new_thread_id: copyId, ...(owner ? { owner } : {}) });
    if (!reply.accepted) throw rejection(reply.code, reply.reason);
    const copy = await mustGet(backend, copyId, owner);
    return c.json(toApiThread(copy, await backend.state.values(copy)));
  });

  api.get("/threads/:thread_id/history", async (c) => {
    const thread = await mustGetOwn(c, backend);
    const limit = Number(c.req.query("limit") ?? 10);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new HttpError(422, "limit must be an integer from 1 to 1000.", "invalid_request");
    return c.json(await backend.state.history(thread, { limit, before: c.req.query("before") }));
  });

  api.post("/threads/:thread_id/history", async (c) => {
    const thread = await mustGetOwn(c, backend);
    const body = parseRequest(historyBody, await readJson(c), "history request");
    const before = typeof body.before === "string" ? body.before : (body.before?.configurable?.checkpoint_id as string | undefined);
    return c.json(await backend.state.history(thread, { limit: body.limit ?? 10, before, metadata: body.metadata, checkpointId: body.checkpoint?.checkpoint_id ?? undefined }));
  });

  return api;
}

export function threadIdOf(c: Context): string {
  return parseRequest(threadIdSchema, c.req.param("thread_id"), "thread id");
}

/** The thread, if it exists and `owner` (when given) owns it; else a 404, the same either way. */
export async function mustGet(backend: GatewayBackend, threadId: string, owner?: string): Promise<ThreadRecord> {
  const thread = await backend.threads.get(threadId);
  if (!thread || !threadBelongsTo(thread, owner)) throw new HttpError(404, `Thread ${threadId} not found.`, "thread_not_found");
  return thread;
}

/** The request's thread (`:thread_id`), as its caller may see it. */
export function mustGetOwn(c: Context, backend: GatewayBackend): Promise<ThreadRecord> {
  return mustGet(backend, threadIdOf(c), ownerOf(c));
}

function pick<T extends object>(value: T, keys: readonly string[]): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => keys.includes(key))) as Partial<T>;
}

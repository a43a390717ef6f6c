import { randomUUID } from "node:crypto";
import { Hono, type Context } from "hono";
import type { StreamedEvent } from "../../client/run-reader.js";
import { messageOf } from "../../errors.js";
import { RUN_STATUSES, isTerminalRunStatus } from "../../protocol/run-status.js";
import { threadBelongsTo, type RunRecord } from "../../ports.js";
import { ownerOf } from "../auth.js";
import type { GatewayBackend } from "../backend.js";
import { HttpError, rejection } from "../http-error.js";
import { toRunCreate, streamModesOf } from "../run-request.js";
import { seqAfter, streamRun, waitForEnd } from "../run-stream.js";
import { cancelManyBody, cancelQuery, parseRequest, runCreateBody, threadIdSchema, type RunCreateBody } from "../schemas.js";
import { toApiRun } from "../shapes.js";
import { mustGet, mustGetOwn, threadIdOf } from "./threads.js";
import { readJson } from "./request.js";

interface CreatedRun {
  runId: string;
  threadId: string;
  body: RunCreateBody;
  /** The run's events from its first, opened with the command (see `runs.createAndStream`); null for a background run. */
  opened: { events: AsyncGenerator<StreamedEvent>; abort: AbortController } | null;
  /** A stateless run's thread, deleted after the run unless `on_completion: "keep"`. */
  temporary: boolean;
}

/**
 * Runs: each request that creates a run sends `run.create` and answers once a worker has replied;
 * streams and joins read the run's Kafka topic, so any gateway serves any run, also after it ended.
 */
export function runRoutes(backend: GatewayBackend): Hono {
  const api = new Hono();

  const create = async (c: Context, threadId: string | null, read = true): Promise<CreatedRun> => {
    const body = parseRequest(runCreateBody, await readJson(c), "run request");
    const stateless = threadId === null;
    const owner = ownerOf(c);
    // Another identity's thread is a 404 here, before a command is sent (the worker checks again).
    if (owner && threadId !== null) {
      const thread = await backend.threads.get(threadId);
      if (thread && !threadBelongsTo(thread, owner)) throw new HttpError(404, `Thread ${threadId} not found.`, "thread_not_found");
    }
    const command = { ...toRunCreate(body, threadId ?? randomUUID(), backend.assistants, stateless), ...(owner ? { owner } : {}) };
    const abort = new AbortController();
    const { reply, events } = read
      ? await backend.client.runs.createAndStream(command, { signal: abort.signal })
      : { reply: await backend.client.runs.create(command), events: null };
    if (!reply.accepted) throw rejection(reply.code, reply.reason);
    const created = {
      runId: command.run_id,
      threadId: command.thread_id,
      body,
      opened: events ? { events, abort } : null,
      temporary: stateless && (body.on_completion ?? "delete") === "delete",
    };
    c.header("Content-Location", stateless ? `/runs/${created.runId}` : `/threads/${created.threadId}/runs/${created.runId}`);
    return created;
  };

  /** A temporary thread goes once its run has ended. */
  const cleanUp = async (run: CreatedRun): Promise<void> => {
    if (!run.temporary) return;
    const reply = await backend.client.threads.delete(run.threadId, { force: true });
    if (!reply.accepted) backend.logger.warn({ thread_id: run.threadId, code: reply.code }, "temporary thread not deleted");
  };

  const streamCreated = (c: Context, run: CreatedRun): Response => {
    c.header("Location", run.temporary ? `/runs/${run.runId}/stream` : `/threads/${run.threadId}/runs/${run.runId}/stream`);
    return streamRun(c, backend, {
      runId: run.runId,
      threadId: run.threadId,
      fromSeq: 0,
      streamModes: streamModesOf(run.body),
      cancelOnDisconnect: run.body.on_disconnect === "cancel",
      ...(run.opened ? { opened: run.opened } : {}),
      onClose: async (ended) => {
        if (ended) await cleanUp(run);
      },
    });
  };

  const waitCreated = async (c: Context, run: CreatedRun): Promise<Response> => {
    const onAbort = () => run.opened?.abort.abort();
    c.req.raw.signal.addEventListener("abort", onAbort, { once: true });
    const result = await resultOf(backend, run.threadId, run.runId, c.req.raw.signal, run.opened?.events).finally(() =>
      c.req.raw.signal.removeEventListener("abort", onAbort),
    );
    await cleanUp(run);
    return c.json(result);
  };

  api.post("/threads/:thread_id/runs/stream", async (c) => streamCreated(c, await create(c, threadIdOf(c))));
  api.post("/runs/stream", async (c) => streamCreated(c, await create(c, null)));
  api.post("/threads/:thread_id/runs/wait", async (c) => waitCreated(c, await create(c, threadIdOf(c))));
  api.post("/runs/wait", async (c) => waitCreated(c, await create(c, null)));

  api.post("/threads/:thread_id/runs", async (c) => {
    const run = await create(c, threadIdOf(c), false);
    return c.json(await apiRunAfterCreate(backend, run));
  });
  api.post("/runs", async (c) => {
    const run = await create(c, null, false);
    // Nobody waits for a background stateless run: its thread goes when it ends.
    void waitForEnd(backend, run.runId)
      .then(() => cleanUp(run))
      .catch((error: unknown) => backend.logger.warn({ run_id: run.runId, err: messageOf(error) }, "temporary thread of a background run not deleted"));
    return c.json(await apiRunAfterCreate(backend, run));
  });

  api.get("/threads/:thread_id/runs", async (c) => {
    const threadId = (await mustGetOwn(c, backend)).thread_id;
    const limit = integerQuery(c, "limit", 10, 1000);
    const offset = integerQuery(c, "offset", 0);
    const status = c.req.query("status");
    if (status && !(RUN_STATUSES as readonly string[]).includes(status)) throw new HttpError(422, `status must be one of ${RUN_STATUSES.join(", ")}.`, "invalid_request");
    const runs = await backend.runs.listByThread(threadId, { limit: offset + limit, ...(status ? { status: status as RunRecord["status"] } : {}) });
    return c.json(runs.slice(offset).map(toApiRun));
  });

  api.get("/threads/:thread_id/runs/:run_id", async (c) => c.json(toApiRun(await mustGetRun(c, backend, threadIdOf(c), c.req.param("run_id")))));

  api.delete("/threads/:thread_id/runs/:run_id", async (c) => {
    const run = await mustGetRun(c, backend, threadIdOf(c), c.req.param("run_id"));
    const reply = await backend.client.send({ type: "run.delete", thread_id: run.thread_id, run_id: run.run_id });
    if (!reply.accepted) throw rejection(reply.code, reply.reason);
    return c.body(null, 204);
  });

  api.get("/threads/:thread_id/runs/:run_id/join", async (c) => {
    const run = await mustGetRun(c, backend, threadIdOf(c), c.req.param("run_id"));
    const cancelOnDisconnect = truthy(c.req.query("cancel_on_disconnect"));
    const signal = c.req.raw.signal;
    const onAbort = () => void backend.client.runs.cancel(run.thread_id, run.run_id, "interrupt").catch(() => undefined);
    if (cancelOnDisconnect) signal.addEventListener("abort", onAbort, { once: true });
    try {
      return c.json(await resultOf(backend, run.thread_id, run.run_id, signal));
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  });

  const joinStream = async (c: Context, run: RunRecord): Promise<Response> => {
    const lastEventId = c.req.header("Last-Event-ID") ?? c.req.query("last_event_id");
    const fromSeq = seqAfter(lastEventId);
    if (fromSeq === null) throw new HttpError(422, `Last-Event-ID must be an event id (a seq) or -1, not ${JSON.stringify(lastEventId)}.`, "invalid_request");
    // An empty `stream_mode=` (the Python SDK sends one when none is given) asks for every mode.
    const only = c.req.queries("stream_mode")?.filter((mode) => mode !== "") ?? null;
    return streamRun(c, backend, {
      runId: run.run_id,
      threadId: run.thread_id,
      fromSeq,
      streamModes: run.request.stream_mode,
      only,
      cancelOnDisconnect: truthy(c.req.query("cancel_on_disconnect")),
    });
  };
  api.get("/threads/:thread_id/runs/:run_id/stream", async (c) => joinStream(c, await mustGetRun(c, backend, threadIdOf(c), c.req.param("run_id"))));
  api.get("/runs/:run_id/stream", async (c) => joinStream(c, await mustGetRun(c, backend, null, c.req.param("run_id"))));

  api.post("/threads/:thread_id/runs/:run_id/cancel", async (c) => {
    const threadId = threadIdOf(c);
    const runId = parseRequest(threadIdSchema, c.req.param("run_id"), "run id");
    const query = parseRequest(cancelQuery, c.req.query(), "cancel parameters");
    if (ownerOf(c)) await mustGetRun(c, backend, threadId, runId);
    const reply = await backend.client.runs.cancel(threadId, runId, query.action);
    if (!reply.accepted) throw rejection(reply.code, reply.reason);
    if (!query.wait) return c.body(null, 202);
    await waitForEnd(backend, runId, c.req.raw.signal);
    return c.body(null, 204);
  });

  api.post("/runs/cancel", async (c) => {
    const body = parseRequest(cancelManyBody, await readJson(c), "cancel request");
    const action = parseRequest(cancelQuery, c.req.query(), "cancel parameters").action;
    const runs = await runsToCancel(backend, body, ownerOf(c));
    const replies = await Promise.all(runs.map((run) => backend.client.runs.cancel(run.thread_id, run.run_id, action)));
    const refused = replies.find((reply) => !reply.accepted && reply.code !== "run_not_found");
    if (refused) throw rejection(refused.code, refused.reason);
    return c.body(null, 204);
  });

  return api;
}

/** The runs a cancel request names, of those its caller (`owner`, when authenticated) may see. */
async function runsToCancel(backend: GatewayBackend, body: ReturnType<typeof cancelManyBody.parse>, owner: string | undefined): Promise<RunRecord[]> {
  if (body.run_ids) {
    const runs = await Promise.all(body.run_ids.map((runId) => backend.runs.get(runId)));
    const named = runs.filter((run): run is RunRecord => run !== undefined && (body.thread_id === undefined || run.thread_id === body.thread_id));
    const visible = await Promise.all(named.map((run) => runVisible(backend, run, owner)));
    return named.filter((_, index) => visible[index]);
  }
  if (!body.thread_id) throw new HttpError(422, "Give run_ids, or a thread_id with a status.", "invalid_request");
  if (owner) await mustGet(backend, body.thread_id, owner);
  const runs = await backend.runs.listByThread(body.thread_id, { limit: 1000 });
  const wanted = body.status ?? "all";
  return runs.filter((run) => !isTerminalRunStatus(run.status) && (wanted === "all" || run.status === wanted || (wanted === "running" && run.status === "rolling_back")));
}

/**
 * The run, if it exists (on `threadId`, when given) and the request's caller may see it; else a
 * 404, the same whether the run is missing or another identity's.
 */
async function mustGetRun(c: Context, backend: GatewayBackend, threadId: string | null, runId: string): Promise<RunRecord> {
  const owner = ownerOf(c);
  if (owner && threadId !== null) await mustGet(backend, threadId, owner);
  const run = await backend.runs.get(runId);
  if (!run || (threadId !== null && run.thread_id !== threadId)) throw new HttpError(404, `Run ${runId} not found.`, "run_not_found");
  if (threadId === null && !(await runVisible(backend, run, owner))) throw new HttpError(404, `Run ${runId} not found.`, "run_not_found");
  return run;
}

/**
 * A run is its thread's owner's; once a temporary (stateless) thread is gone, the owner its
 * run.create named.
 */
async function runVisible(backend: GatewayBackend, run: RunRecord, owner: string | undefined): Promise<boolean> {
  if (owner === undefined) return true;
  const thread = await backend.threads.get(run.thread_id);
  return thread ? threadBelongsTo(thread, owner) : run.request.owner === owner;
}

/** The run as the API describes it right after creation: stored by the worker before its reply. */
async function apiRunAfterCreate(backend: GatewayBackend, run: CreatedRun) {
  const stored = await backend.runs.get(run.runId);
  if (!stored) throw new HttpError(503, `Run ${run.runId} was accepted but is not stored yet; retry the read.`, "run_not_found");
  return toApiRun(stored);
}

/**
 * What `wait` and `join` answer: the thread's values once the run ended, with its pending
 * interrupts as `__interrupt__`; a run that failed answers `{__error__: {error, message}}`.
 */
async function resultOf(backend: GatewayBackend, threadId: string, runId: string, signal: AbortSignal, events?: AsyncIterable<StreamedEvent>): Promise<unknown> {
  const end = await waitForEnd(backend, runId, signal, events);
  if (end.status === "error") return { __error__: { error: end.error?.name ?? "Error", message: end.error?.message ?? "" } };
  const thread = await backend.threads.get(threadId);
  if (!thread) return {};
  const { values, interrupts } = await backend.state.values(thread);
  const pending = Object.values(interrupts).flat();
  const base = values !== null && typeof values === "object" && !Array.isArray(values) ? values : {};
  return pending.length ? { ...base, __interrupt__: pending } : base;
}

function integerQuery(c: Context, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = c.req.query(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new HttpError(422, `${name} must be an integer from 0 to ${max}.`, "invalid_request");
  return value;
}

function truthy(value: string | undefined): boolean {
  return value === "1" || value === "true";
}

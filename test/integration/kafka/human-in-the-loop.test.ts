/**
 * Human in the loop on the real broker and the MongoDB-compatible server: pauses after nodes,
 * Command goto and update, several interrupts resumed by id, resumes that meet a busy thread
 * under each multitask strategy or a thread that waits on nothing, the runtime context a tool
 * sees, and the journal's human message.
 */
import { randomUUID } from "node:crypto";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEventsCollection } from "../../../src/adapters/mongo/collections.js";
import { MongoJournal } from "../../../src/adapters/mongo/journal.js";
import { createClient, type RunbusClient } from "../../../src/client/client.js";
import { echoGraph, interruptGraph, INTERRUPT_QUESTION } from "../../fixtures/graphs.js";
import { hitlGraphs } from "../../fixtures/hitl-graphs.js";
import { startGatewayStack, type GatewayStack } from "../../helpers/gateway.js";

let stack: GatewayStack;
let client: RunbusClient;
let mongo: MongoClient;

beforeAll(async () => {
  stack = await startGatewayStack({ graphs: { ...hitlGraphs, echo: echoGraph, interrupt: interruptGraph }, gateways: 0 });
  const { kafka, topicPrefix, eventTopicMode, mongodb } = stack.config;
  client = createClient({ brokers: kafka!.brokers, topicPrefix, eventTopicMode, replyTimeoutMs: 20_000, mongodb: mongodb! });
  mongo = new MongoClient(mongodb!.uri);
}, 60_000);
afterAll(async () => {
  await client?.close();
  await mongo?.close();
  await stack?.stop();
}, 30_000);

const thread = () => `hitl-${randomUUID()}`;
const human = (content: string) => ({ messages: [{ type: "human", content }] });

async function runToEnd(input: Parameters<RunbusClient["runs"]["create"]>[0]) {
  const reply = await client.runs.create({ stream_mode: ["values"], ...input });
  expect(reply, JSON.stringify(reply)).toMatchObject({ accepted: true });
  return client.runs.join(reply.run_id);
}

describe("pauses", () => {
  it("pauses after a node (interrupt_after) and goes on with null input", async () => {
    const t = thread();
    const paused = await runToEnd({ thread_id: t, graph_id: "steps", input: {}, interrupt_after: ["a"] });
    expect(paused.status).toBe("success");
    expect((paused.values as { trail: string[] }).trail).toEqual(["a"]);
    expect((await client.threads.get(t))?.status).toBe("interrupted");
    const done = await runToEnd({ thread_id: t, graph_id: "steps", input: null });
    expect((done.values as { trail: string[] }).trail).toEqual(["a", "b"]);
    expect((await client.threads.get(t))?.status).toBe("idle");
  });

  it('pauses after every node with interrupt_after "*"', async () => {
    const t = thread();
    const trails: string[][] = [];
    let result = await runToEnd({ thread_id: t, graph_id: "steps", input: {}, interrupt_after: "*" });
    trails.push((result.values as { trail: string[] }).trail);
    result = await runToEnd({ thread_id: t, graph_id: "steps", input: null, interrupt_after: "*" });
    trails.push((result.values as { trail: string[] }).trail);
    expect(trails).toEqual([["a"], ["a", "b"]]);
  });
});

describe("Command", () => {
  it("goto sends a paused thread to another node", async () => {
    const t = thread();
    await runToEnd({ thread_id: t, graph_id: "steps", input: {}, interrupt_before: ["b"] });
    const reply = await client.runs.resume(t, undefined, { goto: "c", stream_mode: ["values"] });
    expect(reply.accepted).toBe(true);
    const result = await client.runs.join(reply.run_id);
    expect((result.values as { trail: string[] }).trail).toContain("c");
  });

  it("update edits the state before the thread goes on", async () => {
    const t = thread();
    await runToEnd({ thread_id: t, graph_id: "steps", input: {}, interrupt_before: ["b"] });
    const reply = await client.runs.resume(t, undefined, { update: { note: "edited by a human" }, stream_mode: ["values"] });
    const result = await client.runs.join(reply.run_id);
    expect(result.values).toMatchObject({ note: "edited by a human", trail: ["a", "b"] });
  });

  it("resumes several interrupts of one step by their ids", async () => {
    const t = thread();
    const paused = await runToEnd({ thread_id: t, graph_id: "pair", input: {} });
    const interrupts = (paused.end.interrupts ?? []) as Array<{ id: string; value: string }>;
    expect(interrupts.map((i) => i.value).sort()).toEqual(["x?", "y?"]);
    const answers = Object.fromEntries(interrupts.map((i) => [i.id, i.value === "x?" ? "ex" : "why"]));
    const reply = await client.runs.resume(t, answers, { stream_mode: ["values"] });
    const result = await client.runs.join(reply.run_id);
    expect(result.values).toEqual({ x: "ex", y: "why" });
    expect((await client.threads.get(t))?.status).toBe("idle");
  });
});

describe("resume checks", () => {
  it("refuses a resume of a thread that waits on no interrupt, and runs nothing", async () => {
    const t = thread();
    await runToEnd({ thread_id: t, graph_id: "echo", input: human("hi") });
    const reply = await client.runs.resume(t, "anything");
    expect(reply).toMatchObject({ accepted: false, code: "no_pending_interrupt" });
    expect(reply.reason).toMatch(/not waiting on an interrupt/);
    // No run was stored: only the first one is the thread's.
    expect(await mongo.db(stack.config.mongodb!.dbName).collection("runs").countDocuments({ thread_id: t })).toBe(1);
  });

  it("resumes with the thread's own graph when graph_id is left out, and answers interrupt()", async () => {
    const t = thread();
    const paused = await runToEnd({ thread_id: t, graph_id: "interrupt", input: human("hello") });
    expect(paused.end.interrupts).toEqual([expect.objectContaining({ value: { question: INTERRUPT_QUESTION } })]);
    const reply = await client.runs.resume(t, "Ada", { stream_mode: ["values"] });
    const result = await client.runs.join(reply.run_id);
    expect((result.values as { messages: Array<{ content: string }> }).messages.at(-1)?.content).toBe("Hello, Ada!");
  });

  describe("a resume that arrives while the thread is busy", () => {
    /** Starts askSlow (busy in its slow step, then asking) and sends a resume under `strategy` while it is busy. */
    async function resumeWhileBusy(strategy: "reject" | "enqueue" | "interrupt" | "rollback") {
      const t = thread();
      const first = await client.runs.create({ thread_id: t, graph_id: "askSlow", input: {}, stream_mode: ["values"] });
      // Busy: its first event is out, its slow step runs for 1.5 s.
      for await (const event of client.runs.stream(first.run_id)) if (event.name === "metadata") break;
      const resume = await client.runs.resume(t, "Bo", { multitask_strategy: strategy, stream_mode: ["values"] });
      return { t, first, resume };
    }

    it("reject: refused as thread_busy", async () => {
      const { first, resume } = await resumeWhileBusy("reject");
      expect(resume).toMatchObject({ accepted: false, code: "thread_busy" });
      expect((await client.runs.join(first.run_id)).status).toBe("success");
    });

    it("enqueue: waits for the run to pause on its question, then answers it", async () => {
      const { resume } = await resumeWhileBusy("enqueue");
      expect(resume).toMatchObject({ accepted: true, disposition: "queued" });
      const result = await client.runs.join(resume.run_id);
      expect(result.status).toBe("success");
      expect((result.values as { trail: string[] }).trail).toEqual(["slow", "ask", "hello Bo"]);
    });

    for (const strategy of ["interrupt", "rollback"] as const) {
      it(`${strategy}: stops the run before its question, so the resume finds nothing to answer and ends error without running`, async () => {
        const { t, first, resume } = await resumeWhileBusy(strategy);
        expect(resume).toMatchObject({ accepted: true, disposition: "queued" });
        const result = await client.runs.join(resume.run_id);
        expect(result.status).toBe("error");
        expect(result.end.error?.message).toMatch(/not waiting on an interrupt/);
        expect((await client.runs.join(first.run_id)).status).toBe(strategy === "interrupt" ? "interrupted" : "error");
        // The graph never ran for the resume: its stream holds no chunk, only its start and its failure.
        const names: string[] = [];
        for await (const event of client.runs.stream(resume.run_id)) names.push(event.name);
        expect(names).toEqual(["metadata", "error", "end"]);
        void t;
      });
    }
  });
});

describe("runtime context and journal", () => {
  it("gives tools {thread_id, run_id, ...context} with the run's ids winning, and journals the human message first", async () => {
    const t = thread();
    const reply = await client.runs.create({
      thread_id: t,
      graph_id: "whoami",
      input: human("who am I?"),
      context: { user: "ada", thread_id: "forged", run_id: "forged" },
      stream_mode: ["values"],
    });
    const result = await client.runs.join(reply.run_id);
    const toolMessage = (result.values as { messages: Array<{ type: string; content: string }> }).messages.find((m) => m.type === "tool");
    expect(JSON.parse(toolMessage!.content)).toEqual({ user: "ada", thread_id: t, run_id: reply.run_id });

    const journal = new MongoJournal(runEventsCollection(mongo.db(stack.config.mongodb!.dbName)), { flushIntervalMs: null });
    let entries: Awaited<ReturnType<MongoJournal["list"]>> = [];
    await expect.poll(async () => (entries = await journal.list(reply.run_id)).map((e) => e.kind), { timeout: 10_000 }).toEqual([
      "human_message",
      "chain_start",
      "llm_call",
      "tool_result",
      "llm_call",
      "chain_end",
    ]);
    expect(entries[0]).toMatchObject({ source: "input", content: "who am I?" });
    expect(entries.at(-1)).toMatchObject({ kind: "chain_end", latency_ms: expect.any(Number) });
  });
});

/**
 * Gateways keep no state: a run created through one is streamed, joined and cancelled through
 * another, as behind a load balancer.
 */
import { Client } from "@langchain/langgraph-sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { slowGraph, type GraphFactoryOptions } from "../../fixtures/graphs.js";
import { startGatewayStack, type GatewayStack } from "../../helpers/gateway.js";

let stack: GatewayStack;
let a: Client;
let b: Client;
beforeAll(async () => {
  // Long enough that the cancel always finds it running: 20 steps of a second (within LangGraph's recursion limit of 25).
  stack = await startGatewayStack({ graphs: { slow: (options: GraphFactoryOptions) => slowGraph({ ...options, steps: 20, stepDelayMs: 1000 }) }, gateways: 2 });
  [a, b] = stack.urls.map((apiUrl) => new Client({ apiUrl, callerOptions: { maxRetries: 0 } })) as [Client, Client];
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

it("streams, joins and cancels through one gateway the run another created", async () => {
  const thread = await a.threads.create();
  expect((await b.threads.get(thread.thread_id)).thread_id).toBe(thread.thread_id);
  const run = await a.runs.create(thread.thread_id, "slow", { input: {}, streamMode: ["values"] });

  const seen: string[] = [];
  for await (const part of b.runs.joinStream(thread.thread_id, run.run_id, { lastEventId: "-1" })) {
    seen.push(part.event);
    if (part.event === "values" && seen.filter((e) => e === "values").length === 2) break;
  }
  expect(seen[0]).toBe("metadata");

  await b.runs.cancel(thread.thread_id, run.run_id, true, "interrupt");
  expect((await a.runs.get(thread.thread_id, run.run_id)).status).toBe("interrupted");
  const ends: Array<{ event: string; data: unknown }> = [];
  for await (const part of a.runs.joinStream(thread.thread_id, run.run_id, { lastEventId: "-1" })) ends.push(part);
  expect(ends.at(-1)).toMatchObject({ event: "end", data: { run_id: run.run_id, status: "interrupted" } });
  expect((await b.runs.list(thread.thread_id)).map((r) => r.status)).toEqual(["interrupted"]);
});

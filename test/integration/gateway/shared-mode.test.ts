/**
 * The gateway in shared event-topic mode: the runs it creates are streamed through its one
 * long-lived reader of the shared topic (no reader group per stream), joins read the topic
 * themselves, and both give the SDK the same events.
 */
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CHAT_REPLY, testGraphs } from "../../fixtures/graphs.js";
import { startGatewayStack, type GatewayStack } from "../../helpers/gateway.js";

let stack: GatewayStack;
beforeAll(async () => {
  stack = await startGatewayStack({ graphs: testGraphs, config: { eventTopicMode: "shared" } });
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

const human = (content: string) => ({ messages: [{ type: "human", content }] });
type Part = { event: string; data: unknown; id?: string };

async function readerGroups(): Promise<string[]> {
  const admin = new Kafka({ brokers: stack.config.kafka!.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(`${stack.config.topicPrefix}runbus-reader-`));
  } finally {
    await admin.disconnect();
  }
}

it("streams created runs through the shared-topic tap, with no reader group of their own", async () => {
  const before = await readerGroups();
  const threads = await Promise.all([0, 1, 2].map(() => stack.sdk.threads.create()));
  const streams = await Promise.all(
    threads.map(async (thread) => {
      const parts: Part[] = [];
      for await (const part of stack.sdk.runs.stream(thread.thread_id, "chat", { input: human("go"), streamMode: ["messages-tuple", "values"] })) parts.push(part);
      return parts;
    }),
  );
  for (const parts of streams) {
    expect(parts[0]!.event).toBe("metadata");
    expect(parts.at(-1)).toMatchObject({ event: "end", data: { status: "success" } });
    expect(parts.map((p) => Number(p.id))).toEqual(parts.map((_, i) => i));
    const tokens = parts.filter((p) => p.event === "messages").map((p) => (p.data as [{ content: string }])[0].content);
    expect(tokens.join("").trim()).toBe(CHAT_REPLY);
  }

  // While a created run streams, no reader group exists for it; while a join streams, one does.
  const thread = await stack.sdk.threads.create();
  let duringCreate: string[] = [];
  for await (const part of stack.sdk.runs.stream(thread.thread_id, "slow", { input: {} })) {
    if (part.event === "values" && duringCreate.length === 0) duringCreate = ["checked", ...(await readerGroups())];
  }
  expect(duringCreate).toEqual(["checked", ...before]);
  // A join of a run still running: its reader lasts until the run's end (the gateway may read a
  // finished run to its end before the client has parsed its first events).
  const running = await stack.sdk.runs.create(thread.thread_id, "slow", { input: {} });
  let duringJoin: string[] = [];
  const joined: Part[] = [];
  for await (const part of stack.sdk.runs.joinStream(thread.thread_id, running.run_id, { lastEventId: "-1" })) {
    joined.push(part);
    if (joined.length === 2) duringJoin = await readerGroups();
  }
  expect(duringJoin.length).toBe(before.length + 1);
  expect(joined.at(-1)).toMatchObject({ event: "end", data: { status: "success" } });
});

it("waits, rejects a busy thread with 422, and cancels on disconnect in shared mode too", async () => {
  const thread = await stack.sdk.threads.create();
  const values = await stack.sdk.runs.wait(thread.thread_id, "echo", { input: human("hi") });
  expect((values as { messages: Array<{ content: string }> }).messages.map((m) => m.content)).toEqual(["hi", "echo: hi", "echo done"]);

  const busy = await stack.sdk.runs.create(thread.thread_id, "slow", { input: {} });
  await expect(stack.sdk.runs.stream(thread.thread_id, "slow", { input: {} }).next()).rejects.toMatchObject({ status: 422 });
  await stack.sdk.runs.cancel(thread.thread_id, busy.run_id, true);

  const abort = new AbortController();
  let runId: string | undefined;
  try {
    for await (const part of stack.sdk.runs.stream(thread.thread_id, "slow", { input: {}, onDisconnect: "cancel", signal: abort.signal, onRunCreated: (m) => (runId = m.run_id) })) {
      if (part.event === "values") abort.abort();
    }
  } catch (error) {
    expect((error as Error).name).toMatch(/Abort/);
  }
  await expect.poll(async () => (await stack.sdk.runs.get(thread.thread_id, runId!)).status, { timeout: 15_000 }).toBe("interrupted");
});

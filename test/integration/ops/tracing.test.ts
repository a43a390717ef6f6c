/**
 * One trace from a command's traceparent through admission, the run, its nodes, its model and
 * tool calls and its checkpoint writes, with the same trace id on the run's Kafka records.
 */
import { context, propagation, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { createClient, type RunbusClient } from "../../../src/client/client.js";
import { loadConfig } from "../../../src/config.js";
import { silentLogger } from "../../../src/logger.js";
import { Worker } from "../../../src/worker.js";
import { testGraphs } from "../../fixtures/graphs.js";
import { memoryStores, uniquePrefix } from "../../helpers/kafka-worker.js";

const exporter = new InMemorySpanExporter();
let provider: NodeTracerProvider;
let worker: Worker;
let client: RunbusClient;
let prefix: string;

beforeAll(async () => {
  provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  prefix = uniquePrefix();
  const config = loadConfig({}, { kafka: { brokers: inject("kafkaBrokers") }, topicPrefix: prefix, commandPartitions: 2 });
  worker = await Worker.create(config, { graphs: testGraphs, logger: silentLogger(), stores: memoryStores() });
  await worker.start();
  client = createClient({ brokers: inject("kafkaBrokers"), topicPrefix: prefix, replyTimeoutMs: 20_000 });
}, 60_000);
afterAll(async () => {
  await client?.close();
  await worker?.stop(1000);
  await provider?.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN = "00f067aa0ba902b7";

it("continues the command's trace into admission, run, nodes, model and tool calls, checkpoints and the run's records", async () => {
  const producer = new Kafka({ brokers: inject("kafkaBrokers"), logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  const runId = `traced-${Date.now()}`;
  await producer.send({
    topic: `${prefix}runbus.commands`,
    messages: [
      {
        key: "traced",
        value: JSON.stringify({ type: "run.create", run_id: runId, thread_id: "traced", graph_id: "agent", input: { messages: [{ role: "user", content: "add two and three" }] } }),
        headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` },
      },
    ],
  });
  await producer.disconnect();

  const records = [];
  for await (const event of client.runs.stream(runId)) records.push(event);
  expect(records.at(-1)).toMatchObject({ name: "end", data: { status: "success" } });
  for (const record of records) expect(record.headers.traceparent, record.name).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
  expect(records[0]!.headers.ce_traceparent).toBe(records[0]!.headers.traceparent);

  await expect.poll(() => exporter.getFinishedSpans().some((s) => s.name === "runbus run"), { timeout: 10_000 }).toBe(true);
  const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === TRACE_ID);
  const byName = (name: string) => spans.filter((s) => s.name === name);
  const admit = byName("runbus admit run.create");
  const run = byName("runbus run");
  expect(admit).toHaveLength(1);
  expect(admit[0]!.parentSpanContext?.spanId).toBe(PARENT_SPAN);
  expect(run).toHaveLength(1);
  expect(run[0]!.parentSpanContext?.spanId).toBe(admit[0]!.spanContext().spanId);
  expect(run[0]!.attributes).toMatchObject({ "runbus.run_id": runId, "runbus.thread_id": "traced", "runbus.graph_id": "agent", "runbus.attempt": 1, "runbus.status": "success" });
  // model → tools → model: two node spans of the model, one of the tools, each under the run.
  const nodes = spans.filter((s) => s.name.startsWith("node "));
  expect(nodes.map((s) => s.name).sort()).toEqual(["node model", "node model", "node tools"]);
  for (const node of nodes) expect(node.parentSpanContext?.spanId).toBe(run[0]!.spanContext().spanId);
  const modelCalls = byName("model ScriptedChatModel");
  expect(modelCalls).toHaveLength(2);
  for (const call of modelCalls) expect(nodes.map((n) => n.spanContext().spanId)).toContain(call.parentSpanContext?.spanId);
  expect(byName("tool add")).toHaveLength(1);
  expect(byName("runbus checkpoint put").length).toBeGreaterThan(0);
});

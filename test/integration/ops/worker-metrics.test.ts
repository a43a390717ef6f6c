/**
 * A real worker's operations endpoints: /metrics moves by exactly what the runs did (success,
 * error, cancelled, rejected, dead-lettered, tokens), /healthz and /readyz answer 200 with their
 * checks.
 */
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { createClient, type RunbusClient } from "../../../src/client/client.js";
import { openMongoStores } from "../../../src/adapters/mongo/stores.js";
import { loadConfig } from "../../../src/config.js";
import { silentLogger } from "../../../src/logger.js";
import { RunbusMetrics } from "../../../src/ops/metrics.js";
import { OpsServer } from "../../../src/ops/ops-server.js";
import { Worker } from "../../../src/worker.js";
import { testGraphs } from "../../fixtures/graphs.js";
import { memoryStores, uniquePrefix } from "../../helpers/kafka-worker.js";

let worker: Worker;
let ops: OpsServer;
let client: RunbusClient;
let prefix: string;

beforeAll(async () => {
  prefix = uniquePrefix();
  const config = loadConfig({}, { kafka: { brokers: inject("kafkaBrokers") }, topicPrefix: prefix, commandPartitions: 2 });
  const metrics = new RunbusMetrics();
  worker = await Worker.create(config, { graphs: testGraphs, logger: silentLogger(), stores: memoryStores(), metrics });
  await worker.start();
  ops = await OpsServer.start({ port: 0, host: "127.0.0.1", metrics, liveness: worker.checks!.liveness, readiness: worker.checks!.readiness, logger: silentLogger() });
  client = createClient({ brokers: inject("kafkaBrokers"), topicPrefix: prefix, replyTimeoutMs: 20_000 });
}, 60_000);
afterAll(async () => {
  await client?.close();
  await ops?.close();
  await worker?.stop(1000);
});

/** The value of one sample of the scrape (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? "").split(",").filter(Boolean);
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(match[3]);
  }
  return 0;
}

const scrape = async () => (await fetch(`${ops.url}/metrics`)).text();
const human = (content: string) => ({ messages: [{ role: "user", content }] });

it("answers /healthz and /readyz with their checks", async () => {
  const live = await fetch(`${ops.url}/healthz`);
  expect(live.status).toBe(200);
  expect(((await live.json()) as { checks: Array<{ name: string }> }).checks.map((c) => c.name)).toEqual(["event_loop_lag", "lease_renewals", "command_consumer_heartbeat"]);
  const ready = await fetch(`${ops.url}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({ status: "ok", checks: [{ name: "kafka", ok: true }, { name: "command_consumer", ok: true }] });
});

it("moves the counters and histograms by exactly what the runs did", async () => {
  const before = await scrape();

  expect((await client.runs.wait({ thread_id: "m-chat", graph_id: "chat", input: human("hello there") })).status).toBe("success");
  expect((await client.runs.wait({ thread_id: "m-fail", graph_id: "failing", input: human("x") })).status).toBe("error");
  const slow = await client.runs.create({ thread_id: "m-slow", graph_id: "slow", input: {} });
  expect(await client.runs.create({ thread_id: "m-slow", graph_id: "slow", input: {} })).toMatchObject({ accepted: false, code: "thread_busy" });
  await client.runs.cancel("m-slow", slow.run_id);
  expect((await client.runs.join(slow.run_id)).status).toBe("interrupted");

  const producer = new Kafka({ brokers: inject("kafkaBrokers"), logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({ topic: `${prefix}runbus.commands`, messages: [{ key: "m-bad", value: "{not json" }] });
  await producer.disconnect();

  const delta = (text: string, name: string, labels: Record<string, string> = {}) => sample(text, name, labels) - sample(before, name, labels);
  let after = "";
  await expect.poll(async () => delta((after = await scrape()), "runbus_dead_letters_total", { code: "invalid_json" }), { timeout: 15_000 }).toBe(1);
  // Runs end on `end`; their record and audit follow at once.
  await expect.poll(async () => delta((after = await scrape()), "runbus_runs_total", { status: "interrupted" }), { timeout: 10_000 }).toBe(1);
  expect(delta(after, "runbus_runs_total", { status: "success" })).toBe(1);
  expect(delta(after, "runbus_runs_total", { status: "error" })).toBe(1);
  expect(delta(after, "runbus_run_duration_seconds_count", { status: "success" })).toBe(1);
  expect(delta(after, "runbus_admission_latency_seconds_count", { command: "run.create", outcome: "accepted" })).toBe(3);
  expect(delta(after, "runbus_admission_latency_seconds_count", { command: "run.create", outcome: "thread_busy" })).toBe(1);
  expect(delta(after, "runbus_events_total", { event: "end" })).toBe(3);
  expect(delta(after, "runbus_events_total", { event: "error" })).toBe(1);
  expect(delta(after, "runbus_event_bytes_total")).toBeGreaterThan(0);
  expect(delta(after, "runbus_time_to_first_event_seconds_count")).toBeGreaterThanOrEqual(2);
  expect(delta(after, "runbus_tokens_total", { graph_id: "chat", model: "ScriptedChatModel", kind: "input" })).toBe(2);
  expect(delta(after, "runbus_tokens_total", { graph_id: "chat", model: "ScriptedChatModel", kind: "output" })).toBe(20);
  expect(sample(after, "runbus_runs_active")).toBe(0);
  expect(delta(after, "runbus_kafka_produce_batch_records_count")).toBeGreaterThan(0);
  expect(delta(after, "runbus_kafka_produce_duration_seconds_count", { outcome: "ok" })).toBeGreaterThan(0);
  // Every command was consumed and committed: no partition lags.
  expect(after).toMatch(/^runbus_command_consumer_lag\{partition="0"\} 0$/m);
  expect(after).toMatch(/^runbus_command_consumer_lag\{partition="1"\} 0$/m);
  expect(sample(after, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
  // Bounded labels only: no run or thread id anywhere in the scrape.
  expect(after).not.toContain(slow.run_id);
  expect(after).not.toContain("m-chat");
});

it("times the MongoDB commands of the stores by command name", async () => {
  const seen: Array<{ command: string; ok: boolean }> = [];
  const dbName = `runbus_ops_${Date.now()}`;
  const stores = await openMongoStores({ uri: inject("mongodbUri"), dbName, probeAtomicity: false, onCommand: (command, _seconds, ok) => seen.push({ command, ok }) });
  try {
    await stores.threads.get("no-such-thread");
    await stores.ping();
    expect(seen).toEqual(expect.arrayContaining([{ command: "find", ok: true }, { command: "ping", ok: true }]));
  } finally {
    await stores.db.dropDatabase().catch(() => undefined);
    await stores.close();
  }
});

/**
 * A run topic with a real hole in its seqs, written straight to the broker: every reader — the
 * client's stream and join, and `runbus watch` — fails with stream_gap instead of waiting forever
 * (DESIGN §7), and a seq that arrives late, within the timeout, is read in its place.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import type { Admin, Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloudEventHeaders } from "../../../src/adapters/kafka/cloud-events.js";
import { waitForTopicLeaders } from "../../../src/adapters/kafka/topic-admin.js";
import { Topics } from "../../../src/adapters/kafka/topics.js";
import { createClient, type StreamedEvent } from "../../../src/client/client.js";
import { startKafkaWorker, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";
import { testKafka } from "./topic-tap.js";

const root = resolve(import.meta.dirname, "../../..");
const GAP_TIMEOUT_MS = 1500;

let setup: KafkaWorkerSetup;
let admin: Admin;
let producer: Producer;
let topics: Topics;

beforeAll(async () => {
  // The worker creates the base topics the client reads (its replies); its runs are not used here.
  setup = await startKafkaWorker();
  topics = new Topics(setup.prefix);
  const kafka = testKafka(setup.brokers, "runbus-test-gap-writer");
  admin = kafka.admin();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await Promise.all([admin.connect(), producer.connect()]);
});

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  await admin?.disconnect().catch(() => undefined);
  await setup?.stop();
});

/** A run id and its own topic, created and led. */
async function runTopic(): Promise<{ runId: string; topic: string }> {
  const runId = `gap-${randomUUID().slice(0, 8)}`;
  const topic = topics.run(runId);
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: false });
  await waitForTopicLeaders(admin, [topic]);
  return { runId, topic };
}

/** Writes events of the run as a worker's event sink does: data as the value, name and seq in headers. */
async function write(topic: string, runId: string, events: Array<[seq: number, name: string]>): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    messages: events.map(([seq, name]) => ({
      key: runId,
      value: JSON.stringify(name === "end" ? { status: "success" } : { seq }),
      headers: cloudEventHeaders({
        type: `runbus.run.${name}`,
        source: "runbus/test",
        subject: "thread-gap",
        id: `${runId}:${seq}`,
        extra: { runbus_event: name, runbus_seq: String(seq), runbus_run_id: runId },
      }),
    })),
  });
}

/** Reads the stream until its end or a failure. */
async function readAll(stream: AsyncGenerator<StreamedEvent>): Promise<{ seqs: number[]; error: unknown }> {
  const seqs: number[] = [];
  try {
    for await (const event of stream) seqs.push(event.seq);
    return { seqs, error: null };
  } catch (error) {
    return { seqs, error };
  }
}

describe("a reader facing a real gap in a run's topic", () => {
  it("runs.stream yields what comes before the gap, then fails with stream_gap naming the run and the missing seq", async () => {
    const { runId, topic } = await runTopic();
    await write(topic, runId, [
      [0, "metadata"],
      [2, "values"],
    ]);

    const started = Date.now();
    const { seqs, error } = await readAll(setup.client.runs.stream(runId, { gapTimeoutMs: GAP_TIMEOUT_MS }));

    expect(seqs).toEqual([0]);
    expect(error).toMatchObject({
      name: "RunbusError",
      code: "stream_gap",
      message: `Run ${runId}'s stream is missing seq 1: seq 2 arrived and 1 did not within ${GAP_TIMEOUT_MS} ms.`,
    });
    // The consumer's join takes a few seconds on a busy machine; a hang would take forever.
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("runs.join fails the same way under the client's streamGapTimeoutMs", async () => {
    const { runId, topic } = await runTopic();
    await write(topic, runId, [
      [0, "metadata"],
      [1, "values"],
      [3, "end"],
    ]);
    const client = createClient({ brokers: setup.brokers, topicPrefix: setup.prefix, streamGapTimeoutMs: GAP_TIMEOUT_MS });
    try {
      await expect(client.runs.join(runId)).rejects.toMatchObject({ code: "stream_gap", message: expect.stringContaining(`Run ${runId}'s stream is missing seq 2: seq 3`) });
    } finally {
      await client.close();
    }
  });

  it("reads a seq that arrives late, within the timeout, in its place", async () => {
    const { runId, topic } = await runTopic();
    await write(topic, runId, [
      [0, "metadata"],
      [2, "values"],
    ]);
    const stream = setup.client.runs.stream(runId, { gapTimeoutMs: 20_000 });
    const first = await stream.next();
    expect(first.value).toMatchObject({ seq: 0 });
    await write(topic, runId, [
      [1, "values"],
      [3, "end"],
    ]);
    const rest = await readAll(stream);
    expect(rest).toEqual({ seqs: [1, 2, 3], error: null });
  });

  it("`runbus watch` exits 1 with one stream_gap line after RUNBUS_STREAM_GAP_TIMEOUT_MS", async () => {
    const { runId, topic } = await runTopic();
    await write(topic, runId, [
      [0, "metadata"],
      [2, "values"],
    ]);
    const env: NodeJS.ProcessEnv = { NO_COLOR: "1" };
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("RUNBUS_")) env[key] = value;
    Object.assign(env, { RUNBUS_KAFKA_BROKERS: setup.brokers.join(","), RUNBUS_TOPIC_PREFIX: setup.prefix, RUNBUS_STREAM_GAP_TIMEOUT_MS: String(GAP_TIMEOUT_MS) });

    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "watch", runId], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    const killer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.on("close", done));
    clearTimeout(killer);

    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`runbus: Run ${runId}'s stream is missing seq 1: seq 2 arrived and 1 did not within ${GAP_TIMEOUT_MS} ms (stream_gap)`);
  }, 60_000);
});

import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startKafkaWorker, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";

describe("the run topic janitor", () => {
  let setup: KafkaWorkerSetup;
  const kafka = new Kafka({ clientId: "janitor-test", brokers: inject("kafkaBrokers"), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();

  beforeAll(async () => {
    // A retention of 1 s makes the janitor sweep every second.
    setup = await startKafkaWorker({ config: { runTopicRetentionMs: 1000 } });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
    await setup?.stop();
  });

  it("keeps a finished run's topic replayable until the retention passes, then deletes it; a running run's topic stays", async () => {
    const topicOf = (runId: string) => `${setup.prefix}runbus.run.${runId}`;
    const done = await setup.client.runs.wait({ thread_id: "janitor-done", graph_id: "echo", input: { messages: [] } });
    expect((await admin.listTopics()).includes(topicOf(done.run_id))).toBe(true);

    const running = await setup.client.runs.create({ thread_id: "janitor-running", graph_id: "slow", input: {}, config: { recursion_limit: 1000 } });
    expect(running.accepted).toBe(true);

    await expect.poll(async () => (await admin.listTopics()).includes(topicOf(done.run_id)), { timeout: 20_000, interval: 250 }).toBe(false);
    expect((await admin.listTopics()).includes(topicOf(running.run_id))).toBe(true);
    await setup.client.runs.cancel("janitor-running", running.run_id);
  });
});

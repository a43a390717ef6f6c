import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKafkaWorker, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";

describe.each(["per-run", "shared"] as const)("create → stream → end through Kafka (%s topic mode)", (mode) => {
  let setup: KafkaWorkerSetup;
  beforeAll(async () => {
    setup = await startKafkaWorker({ config: { eventTopicMode: mode } });
  });
  afterAll(async () => {
    await setup?.stop();
  });

  it("admits the run, streams every chunk in seq order with CloudEvents headers, and ends once", async () => {
    const reply = await setup.client.runs.create({
      thread_id: `thread-${mode}`,
      graph_id: "echo",
      input: { messages: [{ role: "user", content: "hello kafka" }] },
      stream_mode: ["values", "updates"],
    });
    expect(reply).toMatchObject({ accepted: true, disposition: "started", thread_id: `thread-${mode}` });

    const events = [];
    for await (const event of setup.client.runs.stream(reply.run_id)) events.push(event);

    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events[0]).toMatchObject({ name: "metadata", data: { run_id: reply.run_id, thread_id: `thread-${mode}`, attempt: 1 } });
    expect(events.at(-1)).toMatchObject({ name: "end", data: { status: "success" } });
    expect(events.filter((e) => e.name === "end")).toHaveLength(1);
    expect(events.filter((e) => e.name === "updates").map((e) => Object.keys(e.data as object)[0])).toEqual(["first", "second"]);
    const lastValues = events.filter((e) => e.name === "values").at(-1)?.data as { count: number; title: string };
    expect(lastValues).toMatchObject({ count: 2, title: "Echo: hello kafka" });

    for (const event of events) {
      expect(event.headers).toMatchObject({
        ce_specversion: "1.0",
        ce_type: `runbus.run.${event.name}`,
        ce_subject: `thread-${mode}`,
        "content-type": "application/json",
        runbus_event: event.name,
        runbus_seq: String(event.seq),
      });
      expect(event.headers.ce_source).toMatch(/^runbus\/worker\//);
      expect(Date.parse(event.headers.ce_time!)).not.toBeNaN();
    }
  });

  it("replays a finished run from the start and from a middle seq", async () => {
    const result = await setup.client.runs.wait({ thread_id: `replay-${mode}`, graph_id: "echo", input: { messages: [{ role: "user", content: "again" }] } });
    expect(result.status).toBe("success");

    const all = [];
    for await (const event of setup.client.runs.stream(result.run_id)) all.push(event);
    const middle = Math.floor(all.length / 2);
    const tail = [];
    for await (const event of setup.client.runs.stream(result.run_id, { fromSeq: middle })) tail.push(event);

    expect(tail.map((e) => e.seq)).toEqual(all.slice(middle).map((e) => e.seq));
    expect(tail.map((e) => e.data)).toEqual(all.slice(middle).map((e) => e.data));
  });
});

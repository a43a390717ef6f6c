import { describe, expect, it } from "vitest";
import { BatchingProducer } from "../../../src/adapters/kafka/batching-producer.js";
import { FakeBroker } from "./fake-kafka.js";

const message = (value: string) => ({ key: null, value });

/** Lets the producer start its batch (it starts on the next turn of the event loop). */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** "sent", or what the send was rejected with. */
function settled(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => "sent",
    (error: unknown) => error,
  );
}

describe("BatchingProducer after a failed batch", () => {
  it("fails the chain's records queued behind it unsent, and sends every other record", async () => {
    const broker = new FakeBroker();
    broker.latencyMs = 30;
    let calls = 0;
    broker.decide = () => (calls++ === 0 ? "lost" : "ok");
    const producer = new BatchingProducer(broker.kafka());
    await producer.connect();

    const first = settled(producer.send("run-a", message("a0"), { chain: "a" }));
    await nextTurn();
    // Queued while the failing batch is in flight.
    const behind = settled(producer.send("run-a", message("a1"), { chain: "a" }));
    const other = settled(producer.send("run-b", message("b0"), { chain: "b" }));
    const unchained = settled(producer.send("replies", message("r0")));

    const failure = await first;
    expect(failure).toMatchObject({ message: "Batch lost (injected)" });
    expect(await behind).toBe(failure);
    expect(await other).toBe("sent");
    expect(await unchained).toBe("sent");
    expect(broker.records("run-a")).toEqual([]);
    expect(broker.records("run-b").map((m) => m.value)).toEqual(["b0"]);
    expect(broker.records("replies").map((m) => m.value)).toEqual(["r0"]);
    await producer.close();
  });

  it("keeps the chain closed, even to records sent later, until it is reopened", async () => {
    const broker = new FakeBroker();
    let calls = 0;
    broker.decide = () => (calls++ === 0 ? "lost" : "ok");
    const producer = new BatchingProducer(broker.kafka());
    await producer.connect();

    const failure = await settled(producer.send("run-a", message("a0"), { chain: "a" }));
    expect(await settled(producer.send("run-a", message("a1"), { chain: "a" }))).toBe(failure);
    expect(broker.records("run-a")).toEqual([]);

    producer.reopen("a");
    expect(await settled(producer.send("run-a", message("a0 again"), { chain: "a" }))).toBe("sent");
    expect(broker.records("run-a").map((m) => m.value)).toEqual(["a0 again"]);
    await producer.close();
  });

  it("replaces the kafkajs producer, whose sequence numbers may be off, before the next batch", async () => {
    const broker = new FakeBroker();
    let calls = 0;
    broker.decide = () => (calls++ === 0 ? "unacknowledged" : "ok");
    const producer = new BatchingProducer(broker.kafka());
    await producer.connect();

    await settled(producer.send("replies", message("r0")));
    expect(await settled(producer.send("replies", message("r1")))).toBe("sent");

    expect(broker.producers).toHaveLength(2);
    expect(broker.producers[0]).toMatchObject({ disconnected: true });
    expect(broker.producers[1]).toMatchObject({ connected: true });
    await producer.close();
    expect(broker.producers[1]).toMatchObject({ connected: false });
  });
});

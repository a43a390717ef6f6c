import type { Consumer } from "kafkajs";
import { describe, expect, it } from "vitest";
import { ResilientConsumer } from "../../../src/adapters/kafka/resilient-consumer.js";
import { silentLogger } from "../../../src/logger.js";

type Listener = (event: { payload: Record<string, unknown> }) => void;

/** A kafkajs consumer reduced to its events; `script` plays what the broker does once it runs. */
function fakeConsumer(script: (emit: (event: string, payload: Record<string, unknown>) => void) => void): Consumer {
  const listeners = new Map<string, Listener[]>();
  const emit = (event: string, payload: Record<string, unknown>) => listeners.get(event)?.forEach((listener) => listener({ payload }));
  const consumer = {
    events: { GROUP_JOIN: "group_join", FETCH: "fetch", CRASH: "crash" },
    on: (event: string, listener: Listener) => listeners.set(event, [...(listeners.get(event) ?? []), listener]),
    connect: async () => undefined,
    disconnect: async () => undefined,
    run: async () => {
      setImmediate(() => script(emit));
    },
  };
  return consumer as unknown as Consumer;
}

const joined = { memberAssignment: { commands: [0, 1] } };
const protocolError = (type: string) => Object.assign(new Error(type), { name: "KafkaJSProtocolError", type });

function resilient(create: () => Consumer) {
  return new ResilientConsumer({ create, setup: (consumer) => consumer.run({}), what: "p.runbus.commands", group: "p.runbus-workers", logger: silentLogger(), retryMs: 1 });
}

describe("ResilientConsumer.start", () => {
  it("resolves once the consumer has joined and fetched", async () => {
    let fetched = false;
    const consumer = resilient(() =>
      fakeConsumer((emit) => {
        emit("group_join", joined);
        setTimeout(() => {
          fetched = true;
          emit("fetch", {});
        }, 20);
      }),
    );
    await consumer.start();
    expect(fetched).toBe(true);
  });

  it("resolves at the join for a member without partitions, which never fetches", async () => {
    await resilient(() => fakeConsumer((emit) => emit("group_join", { memberAssignment: {} }))).start();
  });

  it("fails at once, naming the topic and the group, when the first fetch is refused", async () => {
    let starts = 0;
    const consumer = resilient(() => {
      starts++;
      return fakeConsumer((emit) => {
        emit("group_join", joined);
        emit("crash", { error: protocolError("TOPIC_AUTHORIZATION_FAILED"), restart: false });
      });
    });
    const error = await consumer.start().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "kafka_not_authorized", message: expect.stringContaining("Read on topic p.runbus.commands and on group p.runbus-workers") });
    expect(starts).toBe(1);
  });

  it("calls a group whose coordinator is never found a refusal after a few tries", async () => {
    let starts = 0;
    const consumer = resilient(() => {
      starts++;
      return fakeConsumer((emit) => emit("crash", { error: Object.assign(new Error("Failed to find group coordinator"), { name: "KafkaJSGroupCoordinatorNotFound" }), restart: false }));
    });
    const error = await consumer.start().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "kafka_not_authorized", message: expect.stringContaining("no coordinator for group p.runbus-workers in 5 tries") });
    expect(starts).toBe(5);
  });

  it("keeps retrying errors that waiting can mend", async () => {
    let starts = 0;
    const consumer = resilient(() => {
      starts++;
      return fakeConsumer((emit) => {
        if (starts < 3) emit("crash", { error: protocolError("NOT_COORDINATOR"), restart: false });
        else {
          emit("group_join", joined);
          emit("fetch", {});
        }
      });
    });
    await consumer.start();
    expect(starts).toBe(3);
  });
});

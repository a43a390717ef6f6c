/**
 * A producer failure mid-stream on the real broker: a chunk larger than the broker accepts fails
 * its batch (MESSAGE_TOO_LARGE, which kafkajs does not retry). The run ends error with `error`
 * and `end` right after the last event that landed — no hole in its seqs — and the worker's
 * producer, replaced after the failure, serves the next run (DESIGN §7).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { AIMessage } from "@langchain/core/messages";
import { Annotation, END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GraphFactoryOptions } from "../../../src/graph/example-graph.js";
import type { EndEvent } from "../../../src/protocol/events.js";
import { testGraphs } from "../../fixtures/graphs.js";
import { startKafkaWorker, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";
import { collectEvents, endOf, human } from "./run-helpers.js";

const BlobState = Annotation.Root({
  ...MessagesAnnotation.spec,
  blob: Annotation<string | undefined>(),
});

/** small → huge → after: the update `huge` makes is over the broker's 1 MiB message limit; the others are small. */
function hugeChunkGraph(options: GraphFactoryOptions = {}) {
  return new StateGraph(BlobState)
    .addNode("small", () => ({ messages: [new AIMessage("small")] }))
    // After a pause, so the small chunk before it has gone out in a batch of its own.
    .addNode("huge", async () => {
      await sleep(200);
      return { blob: "x".repeat(2 * 1024 * 1024) };
    })
    // A moment later, so its chunk queues behind the huge one's batch while that is in flight.
    .addNode("after", async () => {
      await sleep(1);
      return { messages: [new AIMessage("after")] };
    })
    .addEdge(START, "small")
    .addEdge("small", "huge")
    .addEdge("huge", "after")
    .addEdge("after", END)
    .compile({ checkpointer: options.checkpointer });
}

describe.each(["per-run", "shared"] as const)("a producer failure mid-stream on Kafka (%s topic mode)", (mode) => {
  let setup: KafkaWorkerSetup;
  beforeAll(async () => {
    setup = await startKafkaWorker({ config: { eventTopicMode: mode }, graphs: { ...testGraphs, huge: hugeChunkGraph } });
  });
  afterAll(async () => {
    await setup?.stop();
  });

  it("ends the run error with gapless seqs, then runs the next run on the replaced producer", async () => {
    // Updates, not values: the chunk after the huge one is small, so a producer that went on after a
    // failed batch would write it, after a hole.
    const reply = await setup.client.runs.create({ thread_id: `huge-${mode}`, graph_id: "huge", input: human("hi"), stream_mode: ["updates"] });
    expect(reply).toMatchObject({ accepted: true });

    const events = await collectEvents(setup.client, reply.run_id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events[0]?.name).toBe("metadata");
    expect(events.slice(-2).map((e) => e.name)).toEqual(["error", "end"]);
    const end: EndEvent = endOf(events);
    expect(end).toMatchObject({ status: "error", error: { message: expect.stringMatching(/larger than the max message size/i) } });
    // The graph's chunks up to the huge one, and none after it, reached the stream.
    expect(events.filter((e) => e.name === "updates").map((e) => Object.keys(e.data as object))).toEqual([["small"]]);
    if (mode === "per-run") expect(events.map((e) => Number(e.offset))).toEqual(events.map((e) => e.seq));

    const next = await setup.client.runs.wait({ thread_id: `after-${mode}`, graph_id: "echo", input: human("still here") });
    expect(next.status).toBe("success");
  });
});

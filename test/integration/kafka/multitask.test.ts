/**
 * The multitask strategies (DESIGN.md §6) through Kafka: a second run.create arrives on a thread
 * whose run is still going. Start order is read from the thread's audit records, which share one
 * key and so one partition of the transitions topic, in the order the worker wrote them.
 */
import { AIMessage } from "@langchain/core/messages";
import { Annotation, END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Topics } from "../../../src/adapters/kafka/topics.js";
import type { Transition } from "../../../src/protocol/audit.js";
import type { GraphFactoryOptions } from "../../fixtures/graphs.js";
import { memoryStores, startKafkaWorker, type KafkaWorkerSetup } from "../../helpers/kafka-worker.js";
import {
  ROLLED_BACK,
  UNLIMITED_STEPS,
  collectEvents,
  endOf,
  human,
  kafkaTestGraphs,
  latestValues,
  messageTexts,
  waitForEvents,
} from "./run-helpers.js";
import { TopicTap, jsonOf, testKafka } from "./topic-tap.js";

const GatedState = Annotation.Root({
  ...MessagesAnnotation.spec,
  step: Annotation<number>({ reducer: (_previous, next) => next, default: () => 0 }),
});

/** One tick per run, like `tick`, that waits until the test opens the gate: runs queue behind it for sure. */
function gatedGraph(gate: Promise<void>) {
  return (options: GraphFactoryOptions) =>
    new StateGraph(GatedState)
      .addNode("tick", async (state) => {
        await gate;
        return { step: state.step + 1, messages: [new AIMessage(`tick ${state.step + 1}`)] };
      })
      .addEdge(START, "tick")
      .addEdge("tick", END)
      .compile({ checkpointer: options.checkpointer });
}

describe("multitask strategies through Kafka", () => {
  const stores = memoryStores();
  let setup: KafkaWorkerSetup;
  let transitions: TopicTap;
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));

  beforeAll(async () => {
    const graphs = { ...kafkaTestGraphs, gated: gatedGraph(gate) };
    setup = await startKafkaWorker({ graphs, stores, config: { commandPartitions: 3 } });
    transitions = await TopicTap.start(setup.brokers, new Topics(setup.prefix).transitions);
  });
  afterAll(async () => {
    openGate();
    await transitions?.stop();
    await setup?.stop();
  });

  /** The causes of the thread's audit records in offset order: created, claimed:<run>, released:<run>:<status>… */
  function threadCauses(threadId: string): string[] {
    return transitions.records
      .filter((record) => record.key === threadId)
      .map((record) => jsonOf<Transition>(record))
      .filter((transition) => transition.kind === "thread")
      .map((transition) => transition.cause);
  }

  async function startSlowRun(threadId: string, input: string): Promise<string> {
    const reply = await setup.client.runs.create({ thread_id: threadId, graph_id: "slow", input: human(input), stream_mode: ["updates"], config: UNLIMITED_STEPS });
    expect(reply).toMatchObject({ accepted: true, disposition: "started" });
    await waitForEvents(setup.client, reply.run_id, (event) => event.name === "updates");
    return reply.run_id;
  }

  it("reject: a second create while the first runs is refused with thread_busy and leaves nothing", async () => {
    const threadId = "mt-reject";
    const active = await startSlowRun(threadId, "active");

    const explicit = await setup.client.runs.create({ thread_id: threadId, graph_id: "tick", input: human("no"), multitask_strategy: "reject" });
    const byDefault = await setup.client.runs.create({ thread_id: threadId, graph_id: "tick", input: human("no") });
    for (const reply of [explicit, byDefault]) {
      expect(reply).toMatchObject({ accepted: false, code: "thread_busy", thread_id: threadId, reason: `Thread ${threadId} is busy with run ${active}.` });
      expect(await stores.runs.get(reply.run_id)).toBeUndefined();
    }
    // A refused run never got a topic of its own.
    const admin = testKafka(setup.brokers).admin();
    await admin.connect();
    const topics = await admin.listTopics().finally(() => admin.disconnect());
    const runTopics = new Topics(setup.prefix);
    expect(topics).toContain(runTopics.run(active));
    expect(topics).not.toContain(runTopics.run(explicit.run_id));
    expect(topics).not.toContain(runTopics.run(byDefault.run_id));

    expect(await stores.threads.get(threadId)).toMatchObject({ status: "busy", active_run_id: active });
    await setup.client.runs.cancel(threadId, active, "interrupt");
    expect(endOf(await collectEvents(setup.client, active))).toEqual({ status: "interrupted" });
  });

  it("enqueue: three runs are accepted, queue behind the first and run to success one after the other, in order", async () => {
    const threadId = "mt-enqueue";
    const replies = [];
    for (const i of [0, 1, 2]) {
      replies.push(
        await setup.client.runs.create({ thread_id: threadId, graph_id: "gated", input: human(`q${i}`), stream_mode: ["values"], multitask_strategy: "enqueue" }),
      );
    }
    expect(replies.map((reply) => [reply.accepted, reply.disposition])).toEqual([
      [true, "started"],
      [true, "queued"],
      [true, "queued"],
    ]);
    const runIds = replies.map((reply) => reply.run_id);
    expect(await stores.threads.get(threadId)).toMatchObject({ status: "busy", active_run_id: runIds[0] });
    openGate();

    for (const [k, runId] of runIds.entries()) {
      const events = await collectEvents(setup.client, runId);
      expect(endOf(events)).toEqual({ status: "success" });
      // Run k started from the state its predecessors left: their inputs and ticks, then its own input.
      const first = events.find((event) => event.name === "values")?.data as Record<string, unknown>;
      expect(messageTexts(first)).toEqual([...runIds.slice(0, k).flatMap((_, j) => [`q${j}`, `tick ${j + 1}`]), `q${k}`]);
    }
    expect(messageTexts(await latestValues(stores.checkpointer, threadId))).toEqual(["q0", "tick 1", "q1", "tick 2", "q2", "tick 3"]);

    // One at a time: each run claims the thread only after the previous one released it.
    await expect
      .poll(() => threadCauses(threadId), { timeout: 10_000 })
      .toEqual(["created", ...runIds.flatMap((runId) => [`claimed:${runId}`, `released:${runId}:success`])]);
  });

  it("interrupt: the active run ends interrupted, then the new one runs to success on its checkpoints", async () => {
    const threadId = "mt-interrupt";
    const active = await startSlowRun(threadId, "active");

    const next = await setup.client.runs.create({ thread_id: threadId, graph_id: "tick", input: human("next"), stream_mode: ["values"], multitask_strategy: "interrupt" });
    expect(next).toMatchObject({ accepted: true, disposition: "queued" });

    expect(endOf(await collectEvents(setup.client, active))).toEqual({ status: "interrupted" });
    const events = await collectEvents(setup.client, next.run_id);
    expect(endOf(events)).toEqual({ status: "success" });
    // The interrupted run's checkpoints stay: the new run starts on top of them.
    const first = messageTexts(events.find((event) => event.name === "values")?.data as Record<string, unknown>);
    expect(first[0]).toBe("active");
    expect(first.at(-1)).toBe("next");

    await expect
      .poll(() => threadCauses(threadId), { timeout: 10_000 })
      .toEqual(["created", `claimed:${active}`, `released:${active}:interrupted`, `claimed:${next.run_id}`, `released:${next.run_id}:success`]);
  });

  it("rollback: the active run ends 'Rolled back by user', then the new one runs from the pre-run state", async () => {
    const threadId = "mt-rollback";
    const before = await setup.client.runs.wait({ thread_id: threadId, graph_id: "tick", input: human("before") });
    expect(before.status).toBe("success");
    const preRun = await latestValues(stores.checkpointer, threadId);
    expect(messageTexts(preRun)).toEqual(["before", "tick 1"]);

    const active = await startSlowRun(threadId, "active");
    const next = await setup.client.runs.create({ thread_id: threadId, graph_id: "tick", input: human("next"), stream_mode: ["values"], multitask_strategy: "rollback" });
    expect(next).toMatchObject({ accepted: true, disposition: "queued" });

    expect(endOf(await collectEvents(setup.client, active))).toEqual({ status: "error", error: ROLLED_BACK });
    const events = await collectEvents(setup.client, next.run_id);
    expect(endOf(events)).toEqual({ status: "success" });
    // Nothing of the rolled-back run is left: the new run's first state is the pre-run state plus its input.
    const first = events.find((event) => event.name === "values")?.data as Record<string, unknown>;
    expect(first.step).toBe(1);
    expect(messageTexts(first)).toEqual(["before", "tick 1", "next"]);
    expect(messageTexts(await latestValues(stores.checkpointer, threadId))).toEqual(["before", "tick 1", "next", "tick 2"]);

    await expect
      .poll(() => threadCauses(threadId), { timeout: 10_000 })
      .toEqual([
        "created",
        `claimed:${before.run_id}`,
        `released:${before.run_id}:success`,
        `claimed:${active}`,
        `released:${active}:error`,
        `claimed:${next.run_id}`,
        `released:${next.run_id}:success`,
      ]);
  });
});

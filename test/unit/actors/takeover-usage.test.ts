import { setTimeout as sleep } from "node:timers/promises";
import { AIMessage } from "@langchain/core/messages";
import { Annotation, END, MemorySaver, MessagesAnnotation, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { LeaseKeeper } from "../../../src/actors/lease-keeper.js";
import type { MemoryEventLog } from "../../../src/adapters/memory/event-log.js";
import type { GraphFactoryOptions } from "../../../src/graph/example-graph.js";
import { ScriptedChatModel } from "../../../src/graph/fake-chat-model.js";
import { systemClock, type TokenUsage } from "../../../src/ports.js";
import type { RunEvent } from "../../../src/protocol/events.js";
import { Runtime, memoryAdapters } from "../../../src/runtime.js";
import { UNLIMITED_STEPS, newId } from "../../helpers/runtime.js";

const LEASE_MS = 1200;
const ownerA = { worker_id: "worker-a", attempt: 1 };
/** What the run's first attempt stored as its usage before its worker was lost. */
const EARLIER: TokenUsage = { input_tokens: 100, output_tokens: 20, total_tokens: 120 };

const TickState = Annotation.Root({
  ...MessagesAnnotation.spec,
  step: Annotation<number>({ reducer: (_previous, next) => next, default: () => 0 }),
});

/** Ticks for longer than a lease, then one model call: only the attempt that takes the run over reaches it. */
function ticksThenModel(options: GraphFactoryOptions = {}) {
  const model = new ScriptedChatModel({ turns: ["done after the ticks"] });
  return new StateGraph(TickState)
    .addNode("tick", async (state: typeof TickState.State, config: LangGraphRunnableConfig) => {
      await sleep(100, undefined, { signal: config.signal });
      return { step: state.step + 1, messages: [new AIMessage(`tick ${state.step + 1}`)] };
    })
    .addNode("model", async (state: typeof TickState.State) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, "tick")
    .addConditionalEdges("tick", (state) => (state.step < 20 ? "tick" : "model"), ["tick", "model"])
    .addEdge("model", END)
    .compile({ checkpointer: options.checkpointer });
}

/** One model call, ticks for longer than a lease, then another model call. */
function modelTicksModel(options: GraphFactoryOptions = {}) {
  const model = new ScriptedChatModel({ turns: ["first answer", "second answer"] });
  return new StateGraph(TickState)
    .addNode("first", async (state: typeof TickState.State) => ({ messages: [await model.invoke(state.messages)] }))
    .addNode("tick", async (state: typeof TickState.State, config: LangGraphRunnableConfig) => {
      await sleep(100, undefined, { signal: config.signal });
      return { step: state.step + 1, messages: [new AIMessage(`tick ${state.step + 1}`)] };
    })
    .addNode("second", async (state: typeof TickState.State) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, "first")
    .addEdge("first", "tick")
    .addConditionalEdges("tick", (state) => (state.step < 25 ? "tick" : "second"), ["tick", "second"])
    .addEdge("second", END)
    .compile({ checkpointer: options.checkpointer });
}

/** Two workers over one set of stores, one event log and one checkpointer, as over Kafka and MongoDB. */
function cluster(onWorkerLoss: "resume" | "fail") {
  const adapters = memoryAdapters();
  const checkpointer = new MemorySaver();
  const worker = (workerId: string) =>
    new Runtime({ graphs: { usage: ticksThenModel, twoCalls: modelTicksModel }, checkpointer, adapters, workerId, leaseMs: LEASE_MS, onWorkerLoss });
  return { adapters, a: worker("worker-a"), b: worker("worker-b") };
}

async function endOf(events: MemoryEventLog, runId: string): Promise<RunEvent | undefined> {
  let last: RunEvent | undefined;
  for await (const event of events.read(runId)) last = event;
  return last;
}

/**
 * Worker A starts the run and stores EARLIER as its usage; A renews nothing, so it stops once its
 * lease lapses, like a worker that died, and B takes the run over and keeps its own lease.
 */
async function takenOver(onWorkerLoss: "resume" | "fail") {
  const { adapters, a, b } = cluster(onWorkerLoss);
  const keeper = new LeaseKeeper(
    { runs: adapters.runs, clock: systemClock, logger: pino({ level: "silent" }), workerId: "worker-b", hosted: () => b.supervisor.activeRuns.values() },
    LEASE_MS,
  );
  keeper.start();
  try {
    const reply = await a.submit({ type: "run.create", thread_id: newId("thread"), graph_id: "usage", input: { messages: [] }, config: UNLIMITED_STEPS });
    const runId = reply.run_id!;
    expect(await adapters.runs.update(runId, ownerA, { token_usage: EARLIER })).toBe(true);
    await expect.poll(() => b.supervisor.takeOverExpired(), { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);
    const end = await endOf(adapters.events, runId);
    return { adapters, runId, end };
  } finally {
    keeper.stop();
  }
}

describe("token usage of a taken-over run (DESIGN §5: runs.token_usage)", () => {
  it("adds the usage of the attempt that finished the run to what the earlier attempt stored", async () => {
    const { adapters, runId, end } = await takenOver("resume");
    expect(end).toMatchObject({ name: "end", data: { status: "success" } });

    // Only attempt 2 reached the model: its one call is this attempt's whole usage.
    const calls = (await adapters.journal.list(runId)).filter((entry) => entry.kind === "llm_call");
    expect(calls).toHaveLength(1);
    const usage = calls[0]!.kind === "llm_call" ? calls[0]!.token_usage : null;
    expect(usage?.total_tokens).toBeGreaterThan(0);

    expect(await adapters.runs.get(runId)).toMatchObject({
      attempt: 2,
      status: "success",
      token_usage: {
        input_tokens: EARLIER.input_tokens + usage!.input_tokens,
        output_tokens: EARLIER.output_tokens + usage!.output_tokens,
        total_tokens: EARLIER.total_tokens + usage!.total_tokens,
      },
    });
  });

  it("counts the usage a worker stored with its lease renewals before it died", async () => {
    const { adapters, a, b } = cluster("resume");
    const keeper = (workerId: string, runtime: Runtime) =>
      new LeaseKeeper({ runs: adapters.runs, clock: systemClock, logger: pino({ level: "silent" }), workerId, hosted: () => runtime.supervisor.activeRuns.values() }, LEASE_MS);
    const keepsA = keeper("worker-a", a);
    const keepsB = keeper("worker-b", b);
    keepsA.start();
    keepsB.start();
    try {
      const reply = await a.submit({ type: "run.create", thread_id: newId("thread"), graph_id: "twoCalls", input: { messages: [] }, config: UNLIMITED_STEPS });
      const runId = reply.run_id!;
      // A's first model call reaches the record with a renewal; then A dies (renews nothing more).
      await expect.poll(async () => (await adapters.runs.get(runId))?.token_usage.total_tokens, { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
      const storedByA = (await adapters.runs.get(runId))!.token_usage;
      keepsA.stop();
      await expect.poll(() => b.supervisor.takeOverExpired(), { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);
      expect(await endOf(adapters.events, runId)).toMatchObject({ name: "end", data: { status: "success" } });

      const calls = (await adapters.journal.list(runId)).flatMap((entry) => (entry.kind === "llm_call" && entry.token_usage ? [entry.token_usage] : []));
      expect(calls).toHaveLength(2);
      expect(storedByA).toEqual(calls[0]);
      const sum = (key: keyof TokenUsage) => calls[0]![key] + calls[1]![key];
      expect(await adapters.runs.get(runId)).toMatchObject({
        attempt: 2,
        token_usage: { input_tokens: sum("input_tokens"), output_tokens: sum("output_tokens"), total_tokens: sum("total_tokens") },
      });
    } finally {
      keepsA.stop();
      keepsB.stop();
    }
  });

  it("keeps the earlier attempts' usage when the run is ended error on takeover (RUNBUS_ON_WORKER_LOSS=fail)", async () => {
    const { adapters, runId, end } = await takenOver("fail");
    expect(end).toMatchObject({ name: "end", data: { status: "error" } });
    expect(await adapters.runs.get(runId)).toMatchObject({ attempt: 2, status: "error", token_usage: EARLIER });
  });
});

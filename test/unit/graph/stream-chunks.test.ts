import { FakeListChatModel } from "@langchain/core/utils/testing";
import {
  Annotation,
  MemorySaver,
  MessagesAnnotation,
  StateGraph,
  getWriter,
  interrupt,
  type LangGraphRunnableConfig,
} from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "../../../src/graph/serialize.js";
import { eventName, mapStreamChunk, type MappedChunk } from "../../../src/graph/stream-chunks.js";
import { toLangGraphStreamModes } from "../../../src/graph/stream-modes.js";

const TASK_ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

const State = Annotation.Root({
  n: Annotation<number>,
  log: Annotation<string[]>({ reducer: (left, right) => left.concat(right), default: () => [] }),
});

/** a: n+1 and a custom chunk through config.writer; b: n*2 and a custom chunk through getWriter(). */
function twoNodeGraph() {
  return new StateGraph(State)
    .addNode("a", (state, config: LangGraphRunnableConfig) => {
      config.writer?.({ progress: "a" });
      return { n: state.n + 1, log: ["a"] };
    })
    .addNode("b", (state) => {
      getWriter()?.("b says hi");
      return { n: state.n * 2, log: ["b"] };
    })
    .addEdge("__start__", "a")
    .addEdge("a", "b");
}

/** Stream options as runbus passes them: the modes always as an array. */
function streamOptions(modes: string[], subgraphs: boolean, threadId: string = crypto.randomUUID()) {
  return { streamMode: toLangGraphStreamModes(modes), subgraphs, configurable: { thread_id: threadId } };
}

async function mapAll(stream: Promise<AsyncIterable<unknown>>, subgraphs: boolean): Promise<MappedChunk[]> {
  const events: MappedChunk[] = [];
  for await (const raw of await stream) events.push(mapStreamChunk(raw, subgraphs));
  return events;
}

function dataNamed(events: MappedChunk[], name: string): JsonValue[] {
  return events.filter((event) => event.name === name).map((event) => event.data);
}

function expectAllJsonSafe(events: MappedChunk[]): void {
  expect(events.length).toBeGreaterThan(0);
  for (const event of events) expect(JSON.parse(JSON.stringify(event.data))).toEqual(event.data);
}

/** Every key anywhere inside a JSON value. */
function keysDeep(value: JsonValue, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) keysDeep(item, into);
  else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      into.add(key);
      keysDeep(item, into);
    }
  }
  return into;
}

describe("eventName", () => {
  it("is the mode for a root chunk and mode|ns1|ns2 for a subgraph chunk", () => {
    expect(eventName("values", [])).toBe("values");
    expect(eventName("messages-tuple", [])).toBe("messages");
    expect(eventName("updates", ["child:1"])).toBe("updates|child:1");
    expect(eventName("custom", ["mid:1", "inner:2"])).toBe("custom|mid:1|inner:2");
  });
});

describe("mapStreamChunk on a two-node graph", () => {
  const graph = twoNodeGraph().compile({ checkpointer: new MemorySaver() });
  const modes = ["values", "updates", "tasks", "checkpoints", "debug", "custom"];

  it("maps every mode, without subgraphs, to events named by mode", async () => {
    const events = await mapAll(graph.stream({ n: 1 }, streamOptions(modes, false)), false);
    expectAllJsonSafe(events);
    expect(new Set(events.map((event) => event.name))).toEqual(new Set(modes));

    expect(dataNamed(events, "values")).toEqual([
      { n: 1, log: [] },
      { n: 2, log: ["a"] },
      { n: 4, log: ["a", "b"] },
    ]);
    expect(dataNamed(events, "updates")).toEqual([{ a: { n: 2, log: ["a"] } }, { b: { n: 4, log: ["b"] } }]);
    expect(dataNamed(events, "custom")).toEqual([{ progress: "a" }, "b says hi"]);

    const tasks = dataNamed(events, "tasks");
    expect(tasks).toHaveLength(4);
    expect(tasks[0]).toMatchObject({ name: "a", input: { n: 1, log: [] }, triggers: ["branch:to:a"], interrupts: [] });
    expect(tasks[1]).toMatchObject({ name: "a", result: { n: 2, log: ["a"] }, error: null });

    const checkpoints = dataNamed(events, "checkpoints");
    expect(checkpoints.length).toBeGreaterThanOrEqual(3);
    expect(checkpoints.at(-1)).toMatchObject({ values: { n: 4, log: ["a", "b"] }, next: [], metadata: { source: "loop" } });
    expect(checkpoints[0]).toMatchObject({ config: { configurable: { checkpoint_ns: "" } }, next: ["__start__"] });

    const debugTypes = dataNamed(events, "debug").map((data) => (data as { type: string }).type);
    expect(new Set(debugTypes)).toEqual(new Set(["checkpoint", "task", "task_result"]));
  });

  it("gives a root chunk its bare mode name with subgraphs on", async () => {
    const events = await mapAll(twoNodeGraph().compile().stream({ n: 1 }, streamOptions(["values", "custom"], true)), true);
    expect(events.map((event) => event.name)).toEqual(["values", "custom", "values", "custom", "values"]);
    expect(dataNamed(events, "values").at(-1)).toEqual({ n: 4, log: ["a", "b"] });
  });

  it("maps an interrupt as an updates event carrying __interrupt__", async () => {
    const asking = new StateGraph(State)
      .addNode("ask", (state) => ({ n: interrupt<{ question: string }, number>({ question: "n?" }) + state.n }))
      .addEdge("__start__", "ask")
      .compile({ checkpointer: new MemorySaver() });
    const events = await mapAll(asking.stream({ n: 1 }, streamOptions(["updates"], false)), false);
    expect(events).toEqual([
      { name: "updates", data: { __interrupt__: [{ id: expect.any(String) as string, value: { question: "n?" } }] } },
    ]);
  });
});

describe("mapStreamChunk on a graph with a subgraph node", () => {
  const child = twoNodeGraph().compile();
  const parent = new StateGraph(State)
    .addNode("child", child)
    .addNode("after", (state) => ({ n: state.n + 100, log: ["after"] }))
    .addEdge("__start__", "child")
    .addEdge("child", "after")
    .compile({ checkpointer: new MemorySaver() });
  const modes = ["values", "updates", "custom", "tasks", "checkpoints", "debug"];

  it("names subgraph chunks mode|child:<task_id>, the id of the parent's child task", async () => {
    const events = await mapAll(parent.stream({ n: 1 }, streamOptions(modes, true)), true);
    expectAllJsonSafe(events);

    const childTask = dataNamed(events, "tasks").find((task) => (task as { name: string }).name === "child") as { id: string };
    const ns = `child:${childTask.id}`;
    expect(ns).toMatch(new RegExp(`^child:${TASK_ID}$`));
    const names = new Set(events.map((event) => event.name));
    // Only the child's nodes write custom chunks.
    expect(names).toEqual(new Set([...modes.filter((mode) => mode !== "custom"), ...modes.map((mode) => `${mode}|${ns}`)]));

    expect(dataNamed(events, `custom|${ns}`)).toEqual([{ progress: "a" }, "b says hi"]);
    expect(dataNamed(events, `updates|${ns}`)).toEqual([{ a: { n: 2, log: ["a"] } }, { b: { n: 4, log: ["b"] } }]);
    expect(dataNamed(events, "updates")).toEqual([{ child: { n: 4, log: ["a", "b"] } }, { after: { n: 104, log: ["after"] } }]);
    expect(dataNamed(events, "values").at(-1)).toEqual({ n: 104, log: ["a", "b", "after"] });
  });

  it("keeps only public config keys in subgraph checkpoint events", async () => {
    const events = await mapAll(parent.stream({ n: 1 }, streamOptions(["checkpoints", "debug"], true, "thread-cp")), true);
    const childCheckpoints = events.filter((event) => event.name.startsWith("checkpoints|child:")).map((event) => event.data);
    const childDebugCheckpoints = events
      .filter((event) => event.name.startsWith("debug|child:") && (event.data as { type: string }).type === "checkpoint")
      .map((event) => (event.data as { payload: JsonValue }).payload);
    expect(childCheckpoints.length).toBeGreaterThan(0);
    // debug repeats each checkpoint event as its payload.
    expect(childDebugCheckpoints).toEqual(childCheckpoints);

    for (const checkpoint of [...childCheckpoints, ...childDebugCheckpoints]) {
      const keys = keysDeep(checkpoint);
      expect([...keys].filter((key) => key.startsWith("__pregel_"))).toEqual([]);
      // The checkpointer's storage would otherwise be serialized into every event.
      expect(keys.has("storage")).toBe(false);
      expect(checkpoint).toMatchObject({
        config: {
          configurable: { thread_id: "thread-cp", checkpoint_ns: expect.stringMatching(new RegExp(`^child:${TASK_ID}$`)) as string },
        },
      });
    }
  });
});

describe("mapStreamChunk on messages mode", () => {
  const question = { messages: [{ role: "user", content: "hi" }] };

  function chatGraph() {
    const model = new FakeListChatModel({ responses: ["hello world"] });
    return new StateGraph(MessagesAnnotation)
      .addNode("llm", async (state) => ({ messages: [await model.invoke(state.messages)] }))
      .addEdge("__start__", "llm");
  }

  it("maps token chunks to messages events [message, metadata]", async () => {
    const events = await mapAll(chatGraph().compile().stream(question, streamOptions(["messages-tuple"], false)), false);
    expectAllJsonSafe(events);
    expect(events.every((event) => event.name === "messages")).toBe(true);

    const tuples = events.map((event) => event.data as [Record<string, JsonValue>, Record<string, JsonValue>]);
    expect(tuples.length).toBeGreaterThan(1);
    expect(tuples.map(([message]) => message.content).join("")).toBe("hello world");
    for (const [message, metadata] of tuples) {
      expect(message).toMatchObject({ type: "ai", id: tuples[0]?.[0].id, tool_calls: [], tool_call_chunks: [], additional_kwargs: {} });
      expect(message).not.toHaveProperty("lc_kwargs");
      expect(metadata).toMatchObject({ langgraph_node: "llm", langgraph_step: 1 });
      // undefined metadata fields (name, ls_stop) must not survive as keys.
      expect(Object.values(metadata)).not.toContain(undefined);
    }
  });

  it("names messages from a nested subgraph messages|mid:<id>|inner:<id>", async () => {
    const inner = chatGraph().compile();
    const mid = new StateGraph(MessagesAnnotation).addNode("inner", inner).addEdge("__start__", "inner").compile();
    const top = new StateGraph(MessagesAnnotation).addNode("mid", mid).addEdge("__start__", "mid").compile();
    const events = await mapAll(top.stream(question, streamOptions(["messages", "updates"], true)), true);
    expectAllJsonSafe(events);

    const messageEvents = events.filter((event) => event.name.startsWith("messages"));
    expect(messageEvents.length).toBeGreaterThan(1);
    for (const event of messageEvents) expect(event.name).toMatch(new RegExp(`^messages\\|mid:${TASK_ID}\\|inner:${TASK_ID}$`));
    expect(messageEvents.map((event) => (event.data as [{ content: string }, unknown])[0].content).join("")).toBe("hello world");
    expect(dataNamed(events, "updates")).toEqual([
      {
        mid: {
          messages: [
            expect.objectContaining({ type: "human", content: "hi" }),
            expect.objectContaining({ type: "ai", content: "hello world" }),
          ],
        },
      },
    ]);
  });
});

describe("mapStreamChunk on unexpected shapes", () => {
  it.each([
    [["values", {}, "extra"], false, "[mode, chunk] (subgraphs off), got an array of length 3"],
    [[[], "values", {}], false, "[mode, chunk] (subgraphs off), got an array of length 3"],
    [{ mode: "values" }, false, "[mode, chunk] (subgraphs off), got object"],
    [["values", {}], true, "[namespace, mode, chunk] (subgraphs on), got an array of length 2"],
    [[[1], "values", {}], true, "[namespace, mode, chunk] (subgraphs on)"],
    [["ns", "values", {}], true, "[namespace, mode, chunk] (subgraphs on)"],
    [null, true, "got null"],
    [["messages", { content: "x" }], false, 'a LangGraph "messages" chunk [message, metadata], got object'],
  ])("throws for %j with subgraphs %s", (raw, subgraphs, message) => {
    expect(() => mapStreamChunk(raw, subgraphs)).toThrow(message);
  });
});

import { AIMessage, HumanMessage, ToolMessage, type AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import { Command, MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { exampleGraph } from "../../../src/graph/example-graph.js";
import { ScriptedChatModel } from "../../../src/graph/fake-chat-model.js";
import {
  BoomError,
  CHAT_REPLY,
  INTERRUPT_QUESTION,
  agentGraph,
  chatGraph,
  echoGraph,
  failingGraph,
  interruptGraph,
  slowGraph,
  subgraphGraph,
  testGraphs,
} from "../../fixtures/graphs.js";

const thread = (id: string) => ({ configurable: { thread_id: id } });
const ask = (text: string) => ({ messages: [new HumanMessage(text)] });

async function countCheckpoints(saver: MemorySaver, threadId: string): Promise<number> {
  let count = 0;
  for await (const _tuple of saver.list(thread(threadId))) count += 1;
  return count;
}

describe("ScriptedChatModel", () => {
  it("plays its turns by the number of AI messages in the prompt", async () => {
    const model = new ScriptedChatModel({ turns: ["first", "second"] });
    expect((await model.invoke([new HumanMessage("a")])).text).toBe("first");
    expect((await model.invoke([new HumanMessage("a"), new AIMessage("first")])).text).toBe("second");
    expect((await model.invoke([new AIMessage("x"), new AIMessage("y")])).text).toBe("first");
  });

  it("streams one chunk per word and puts usage on the last chunk", async () => {
    const model = new ScriptedChatModel({ turns: ["a b c"] });
    const chunks: AIMessageChunk[] = [];
    for await (const chunk of await model.stream([new HumanMessage("two words")])) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.text)).toEqual(["a ", "b ", "c", ""]);
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage_metadata === undefined)).toBe(true);
    expect(chunks.at(-1)?.usage_metadata).toEqual({ input_tokens: 2, output_tokens: 3, total_tokens: 5 });
  });

  it("replies with tool calls with stable ids, and refuses tools that are not bound", async () => {
    const turns = [{ toolCalls: [{ name: "add", args: { a: 1, b: 2 } }] }];
    const bound = new ScriptedChatModel({ turns }).bindTools([{ name: "add", schema: {} }]);
    const reply = await bound.invoke([new HumanMessage("add")]);
    expect(reply.tool_calls).toEqual([{ type: "tool_call", id: "call_0_0", name: "add", args: { a: 1, b: 2 } }]);
    await expect(new ScriptedChatModel({ turns }).invoke([new HumanMessage("add")])).rejects.toThrow(
      "Scripted tool call 'add' names a tool that is not bound.",
    );
  });
});

describe("test graph fixtures", () => {
  it("exports every factory in testGraphs, each compiling a fresh graph", () => {
    expect(Object.keys(testGraphs).sort()).toEqual(
      ["agent", "chat", "echo", "failing", "interrupt", "slow", "subgraph"].sort(),
    );
    expect(testGraphs.echo()).not.toBe(testGraphs.echo());
  });

  it("echo runs first then second, ends with count 2 and sets the title", async () => {
    const checkpointer = new MemorySaver();
    const graph = echoGraph({ checkpointer });
    const nodes: string[] = [];
    for await (const update of await graph.stream(ask("hello"), { ...thread("echo"), streamMode: "updates" })) {
      nodes.push(...Object.keys(update));
    }
    expect(nodes).toEqual(["first", "second"]);
    const state = await graph.getState(thread("echo"));
    expect(state.values.count).toBe(2);
    expect(state.values.title).toBe("Echo: hello");
    expect(state.next).toEqual([]);
  });

  it("chat streams many message chunks and ends with an AIMessage carrying usage_metadata", async () => {
    const graph = chatGraph({ checkpointer: new MemorySaver() });
    const chunks: BaseMessage[] = [];
    for await (const [chunk, metadata] of await graph.stream(ask("hi"), { ...thread("chat"), streamMode: "messages" })) {
      expect(metadata.langgraph_node).toBe("model");
      chunks.push(chunk);
    }
    expect(chunks.length).toBeGreaterThanOrEqual(10);
    expect(chunks.map((chunk) => chunk.text).join("")).toBe(CHAT_REPLY);

    const last = (await graph.getState(thread("chat"))).values.messages.at(-1);
    expect(AIMessage.isInstance(last)).toBe(true);
    expect((last as AIMessage).text).toBe(CHAT_REPLY);
    expect((last as AIMessage).usage_metadata).toMatchObject({ input_tokens: 1, output_tokens: 20, total_tokens: 21 });
  });

  it("agent calls the add tool once, then answers with its result", async () => {
    const graph = agentGraph({ checkpointer: new MemorySaver() });
    const nodes: string[] = [];
    for await (const update of await graph.stream(ask("what is 2 + 3?"), { ...thread("agent"), streamMode: "updates" })) {
      nodes.push(...Object.keys(update));
    }
    expect(nodes).toEqual(["model", "tools", "model"]);

    const messages = (await graph.getState(thread("agent"))).values.messages;
    expect(messages.map((message: BaseMessage) => message.type)).toEqual(["human", "ai", "tool", "ai"]);
    const [, call, result, answer] = messages;
    expect((call as AIMessage).tool_calls?.[0]).toMatchObject({ name: "add", args: { a: 2, b: 3 } });
    expect(ToolMessage.isInstance(result)).toBe(true);
    expect((result as ToolMessage).text).toBe("5");
    expect((result as ToolMessage).tool_call_id).toBe((call as AIMessage).tool_calls?.[0]?.id);
    expect(answer?.text).toBe("2 + 3 = 5");
  });

  it("interrupt pauses on ask with the question, and Command({resume}) completes it", async () => {
    const graph = interruptGraph({ checkpointer: new MemorySaver() });
    const updates: Record<string, unknown>[] = [];
    for await (const update of await graph.stream(ask("hi"), { ...thread("interrupt"), streamMode: "updates" })) {
      updates.push(update);
    }
    // The pause shows up in the stream as an `__interrupt__` update, not as an error.
    expect(updates).toEqual([{ __interrupt__: [expect.objectContaining({ value: { question: INTERRUPT_QUESTION } })] }]);

    const paused = await graph.getState(thread("interrupt"));
    expect(paused.next).toEqual(["ask"]);
    expect(paused.tasks[0]?.interrupts[0]?.value).toEqual({ question: INTERRUPT_QUESTION });

    const result = await graph.invoke(new Command({ resume: "Ada" }), thread("interrupt"));
    expect(result.answer).toBe("Ada");
    expect(result.messages.at(-1)?.text).toBe("Hello, Ada!");
    const done = await graph.getState(thread("interrupt"));
    expect(done.next).toEqual([]);
    expect(done.tasks).toEqual([]);
  });

  it("subgraph yields chunks namespaced by the child node with subgraphs: true", async () => {
    const graph = subgraphGraph({ checkpointer: new MemorySaver() });
    const seen: { namespace: string[]; node: string }[] = [];
    const stream = await graph.stream({ messages: [] }, { ...thread("subgraph"), streamMode: "updates", subgraphs: true });
    for await (const [namespace, update] of stream) {
      for (const node of Object.keys(update)) seen.push({ namespace, node });
    }
    expect(seen.map(({ node }) => node)).toEqual(["prepare", "inner_first", "inner_second", "child"]);
    const inner = seen.filter(({ node }) => node.startsWith("inner_"));
    for (const { namespace } of inner) {
      expect(namespace).toHaveLength(1);
      expect(namespace[0]).toMatch(/^child:/);
    }
    expect(seen.filter(({ namespace }) => namespace.length === 0).map(({ node }) => node)).toEqual(["prepare", "child"]);
    const state = await graph.getState(thread("subgraph"));
    expect(state.values.trail).toEqual(["prepare", "inner_first", "inner_second"]);
  });

  it("failing throws boom from explode, after first's checkpoint was written", async () => {
    const graph = failingGraph({ checkpointer: new MemorySaver() });
    const error = await graph.invoke({ messages: [] }, thread("failing")).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BoomError);
    expect(error).toMatchObject({ name: "BoomError", message: "boom" });

    const state = await graph.getState(thread("failing"));
    expect(state.values.messages.map((message: BaseMessage) => message.text)).toEqual(["first ok"]);
    expect(state.next).toEqual(["explode"]);
    expect(state.tasks[0]?.error).toMatchObject({ name: "BoomError", message: "boom" });
  });

  it("slow rejects with the abort reason as soon as it is aborted mid-step", async () => {
    // A minute-long step: if the abort were not prompt, this test would time out.
    const graph = slowGraph({ checkpointer: new MemorySaver(), stepDelayMs: 60_000 });
    const controller = new AbortController();
    const reason = new Error("cancelled by test");
    setTimeout(() => controller.abort(reason), 50);
    // Schedule the abort first: `await graph.stream()` only settles once the first chunk exists.
    const run = async () => {
      const stream = await graph.stream({ messages: [] }, { ...thread("slow-abort"), streamMode: "updates", signal: controller.signal });
      for await (const _update of stream) {
        // no step finishes before the abort
      }
    };
    await expect(run()).rejects.toBe(reason);
  });

  it("slow writes one checkpoint per step when left to finish", async () => {
    const checkpointer = new MemorySaver();
    const graph = slowGraph({ checkpointer, steps: 4, stepDelayMs: 1 });
    const result = await graph.invoke({ messages: [] }, thread("slow-done"));
    expect(result.step).toBe(4);
    // The input checkpoint, the one after START, then one per tick.
    expect(await countCheckpoints(checkpointer, "slow-done")).toBe(2 + 4);
  });

  it("slow stops at the step where it was aborted, keeping the checkpoints it wrote", async () => {
    const checkpointer = new MemorySaver();
    const graph = slowGraph({ checkpointer, stepDelayMs: 20 });
    const controller = new AbortController();
    const steps: number[] = [];
    const run = async () => {
      const stream = await graph.stream({ messages: [] }, { ...thread("slow"), streamMode: "values", signal: controller.signal });
      for await (const values of stream) {
        steps.push(values.step);
        if (values.step === 2) controller.abort();
      }
    };
    await expect(run()).rejects.toMatchObject({ name: "AbortError" });

    expect(steps).toEqual([0, 1, 2]);
    const state = await graph.getState(thread("slow"));
    expect(state.values.step).toBe(2);
    expect(state.next).toEqual(["tick"]);
  });
});

describe("example graph", () => {
  it("looks the asked-about term up, streams an answer and sets a title", async () => {
    const graph = exampleGraph({ checkpointer: new MemorySaver(), tokenDelayMs: 0 });
    let streamedWords = 0;
    const stream = await graph.stream(ask("What is a thread?"), { ...thread("example"), streamMode: "messages" });
    for await (const [chunk] of stream) {
      if (chunk.type === "ai" && chunk.text !== "") streamedWords += 1;
    }
    expect(streamedWords).toBeGreaterThanOrEqual(10);

    const { values } = await graph.getState(thread("example"));
    expect(values.messages.map((message: BaseMessage) => message.type)).toEqual(["human", "ai", "tool", "ai"]);
    expect((values.messages[1] as AIMessage).tool_calls?.[0]?.args).toEqual({ term: "thread" });
    expect(values.messages.at(-1)?.text).toContain("A thread is a conversation");
    expect(values.title).toBe("Glossary: What is a thread?");
  });
});

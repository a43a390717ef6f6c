/**
 * The graphs every benchmark runs, runbus, the in-process baselines and the LangGraph API server
 * alike. Each export compiles a fresh graph with the checkpointer it is given; the `*Graph`
 * constants are the compiled graphs the LangGraph API server loads (it swaps in its own saver).
 */
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { Annotation, END, MessagesAnnotation, START, StateGraph, interrupt } from "@langchain/langgraph";
import { ScriptedChatModel } from "../src/graph/fake-chat-model.js";

export interface BenchGraphOptions {
  checkpointer?: BaseCheckpointSaver;
}

function firstHumanText(messages: BaseMessage[]): string {
  return messages.find((message) => message.type === "human")?.text ?? "";
}

/** Two nodes, first → second: the smallest graph that still checkpoints between steps. */
export function twoNodeGraph(options: BenchGraphOptions = {}) {
  return new StateGraph(MessagesAnnotation)
    .addNode("first", (state) => ({ messages: [new AIMessage(`echo: ${firstHumanText(state.messages)}`)] }))
    .addNode("second", () => ({ messages: [new AIMessage("done")] }))
    .addEdge(START, "first")
    .addEdge("first", "second")
    .addEdge("second", END)
    .compile({ checkpointer: options.checkpointer });
}

/** One model call whose reply streams `tokens` words, one chunk per word. */
export function streamingGraph(tokens: number, options: BenchGraphOptions = {}) {
  const reply = Array.from({ length: tokens }, (_, i) => `w${i}`).join(" ");
  const model = new ScriptedChatModel({ turns: [reply] });
  return new StateGraph(MessagesAnnotation)
    .addNode("model", async (state) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, "model")
    .addEdge("model", END)
    .compile({ checkpointer: options.checkpointer });
}

const ParkState = Annotation.Root({
  ...MessagesAnnotation.spec,
  answer: Annotation<string | undefined>(),
});

/** Pauses at `interrupt()` and waits to be resumed (interruptGraph of the tests). */
export function parkGraph(options: BenchGraphOptions = {}) {
  return new StateGraph(ParkState)
    .addNode("ask", () => ({ answer: interrupt<{ question: string }, string>({ question: "name?" }) }))
    .addNode("finish", (state) => ({ messages: [new AIMessage(`Hello, ${state.answer ?? "stranger"}!`)] }))
    .addEdge(START, "ask")
    .addEdge("ask", "finish")
    .addEdge("finish", END)
    .compile({ checkpointer: options.checkpointer });
}

/** The graphs a runbus worker registers (factories: bound to the worker's checkpointer). */
export function workerGraphs(streamTokens: number) {
  return {
    two_node: (o: BenchGraphOptions) => twoNodeGraph(o),
    streaming: (o: BenchGraphOptions) => streamingGraph(streamTokens, o),
    park: (o: BenchGraphOptions) => parkGraph(o),
  };
}

/** For the LangGraph API server, which loads `file:export` and gives the graph its own checkpointer. */
export const two_node = twoNodeGraph();

/**
 * The graph `npm start` and `runbus dev` run when you bring none of your own:
 * a small agent that looks a runbus word up in a glossary, then explains it.
 * Its model is a scripted fake, so it needs no network and no API key, and
 * still streams its answer word by word like a real one.
 */
import type { BaseMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { Annotation, END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt";
import { z } from "zod";
import { ScriptedChatModel } from "./fake-chat-model.js";

import type { GraphFactoryOptions } from "./registry.js";

export type { GraphFactoryOptions };

export interface ExampleGraphOptions extends GraphFactoryOptions {
  /** Pause between streamed words, so the stream is visible in a terminal. */
  tokenDelayMs?: number;
}

const GLOSSARY: Record<string, string> = {
  run: "A run is one execution of a graph on a thread; it ends exactly once, as success, interrupted, error or timeout.",
  thread: "A thread is a conversation: its checkpoints hold the graph state between runs.",
  checkpoint: "A checkpoint is the saved graph state after a step; runbus keeps them in MongoDB.",
  rollback: "A rollback cancels a run and restores the thread to the checkpoint it had before the run started.",
  kafka: "Kafka carries the commands, every run's stream events and the audit trail of state changes.",
  runbus: "runbus runs LangGraph graphs as XState actors, fed by Kafka and persisted in MongoDB.",
};

const glossaryLookup = tool(({ term }) => GLOSSARY[term.toLowerCase()] ?? `No entry for "${term}".`, {
  name: "glossary_lookup",
  description: "Look a runbus term up in the glossary.",
  schema: z.object({ term: z.string().describe("a single word, e.g. 'thread'") }),
});

const ExampleState = Annotation.Root({
  ...MessagesAnnotation.spec,
  /** Becomes the thread's display name after each run. */
  title: Annotation<string | undefined>(),
});

/** The first glossary word in the user's latest message, else "runbus". */
function termAskedAbout(messages: BaseMessage[]): string {
  const question = messages.findLast((message) => message.type === "human")?.text.toLowerCase() ?? "";
  return Object.keys(GLOSSARY).find((term) => question.includes(term)) ?? "runbus";
}

/** The model's script: first call the tool, then answer with what it returned. */
function exampleModel(tokenDelayMs: number) {
  return new ScriptedChatModel({
    tokenDelayMs,
    turns: [
      (messages) => ({ toolCalls: [{ name: "glossary_lookup", args: { term: termAskedAbout(messages) } }] }),
      (messages) => {
        const found = messages.findLast((message) => message.type === "tool")?.text ?? "";
        return `Happy to help! ${found} Ask me about runs, threads, checkpoints, rollback or Kafka.`;
      },
    ],
  }).bindTools([glossaryLookup]);
}

export function exampleGraph(options: ExampleGraphOptions = {}) {
  const model = exampleModel(options.tokenDelayMs ?? 30);

  async function agent(state: typeof ExampleState.State) {
    const reply = await model.invoke(state.messages);
    const firstQuestion = state.messages.find((message) => message.type === "human")?.text ?? "";
    return { messages: [reply], title: state.title ?? `Glossary: ${firstQuestion.slice(0, 40)}` };
  }

  return new StateGraph(ExampleState)
    .addNode("agent", agent)
    .addNode("tools", new ToolNode([glossaryLookup]))
    .addEdge(START, "agent")
    .addConditionalEdges("agent", toolsCondition, ["tools", END])
    .addEdge("tools", "agent")
    .compile({ checkpointer: options.checkpointer });
}

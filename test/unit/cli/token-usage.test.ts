import { describe, expect, it } from "vitest";
import { TokenTally } from "../../../src/cli/token-usage.js";

const usage = (input: number, output: number) => ({ input_tokens: input, output_tokens: output, total_tokens: input + output });
const human = { type: "human", id: "h1", content: "hi" };
const earlierReply = { type: "ai", id: "a0", content: "before", usage_metadata: usage(5, 5) };
const reply = { type: "ai", content: "hello", usage_metadata: usage(3, 4) };
const toolCall = { type: "ai", content: "", tool_calls: [{ name: "add", args: {} }], usage_metadata: usage(2, 1) };

describe("TokenTally", () => {
  it("sums the AI messages of updates chunks, once each, ignoring other message types", () => {
    const tally = new TokenTally();
    tally.add({ name: "updates", data: { model: { messages: [toolCall] } } });
    tally.add({ name: "updates", data: { tools: { messages: [{ type: "tool", content: "5", usage_metadata: usage(9, 9) }] } } });
    tally.add({ name: "updates", data: { model: { messages: [reply] } } });
    tally.add({ name: "updates", data: { model: { messages: [reply] } } });
    expect(tally.total).toEqual(usage(5, 5));
  });

  it("does not count the history in the first values chunk, nor a message seen first in updates then with an id in values", () => {
    const tally = new TokenTally();
    tally.add({ name: "values", data: { messages: [earlierReply, human] } });
    tally.add({ name: "updates", data: { model: { messages: [reply] } } });
    tally.add({ name: "values", data: { messages: [earlierReply, human, { ...reply, id: "a1" }] } });
    expect(tally.total).toEqual(usage(3, 4));
  });

  it("counts from values alone when the run streams only values", () => {
    const tally = new TokenTally();
    tally.add({ name: "values", data: { messages: [earlierReply, human] } });
    tally.add({ name: "values", data: { messages: [earlierReply, human, { ...toolCall, id: "a1" }] } });
    tally.add({ name: "values", data: { messages: [earlierReply, human, { ...toolCall, id: "a1" }, { ...reply, id: "a2" }] } });
    expect(tally.total).toEqual(usage(5, 5));
  });

  it("reads subgraph chunks, node updates given as lists, and survives chunks that are not state", () => {
    const tally = new TokenTally();
    tally.add({ name: "updates|child:1", data: { inner: [{ messages: [reply] }, { messages: toolCall }] } });
    tally.add({ name: "updates", data: { __interrupt__: [{ value: "?" }] } });
    tally.add({ name: "updates", data: null });
    tally.add({ name: "messages", data: [reply, {}] });
    expect(tally.total).toEqual(usage(5, 5));
  });
});

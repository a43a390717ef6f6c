import { describe, expect, it } from "vitest";
import type { StreamedEvent } from "../../../src/client/run-reader.js";
import { assistantIdOf } from "../../../src/gateway/assistants.js";
import { seqAfter } from "../../../src/gateway/run-stream.js";
import { SseEvents, formatFrame } from "../../../src/gateway/sse-events.js";

const event = (seq: number, name: string, data: unknown): StreamedEvent => ({ run_id: "r1", seq, name, data, headers: {}, offset: String(seq) });
const chunk = (id: string, content: string) => [{ type: "ai", id, content }, { langgraph_node: "model" }];

describe("SseEvents", () => {
  it("passes metadata and chunks with their seq as id, and ends with {run_id, status}", () => {
    const events = new SseEvents(["values"]);
    expect(events.frames(event(0, "metadata", { run_id: "r1", thread_id: "t", attempt: 1 }))).toEqual([
      { event: "metadata", data: { run_id: "r1", thread_id: "t", attempt: 1 }, id: "0" },
    ]);
    expect(events.frames(event(1, "values", { x: 1 }))).toEqual([{ event: "values", data: { x: 1 }, id: "1" }]);
    expect(events.frames(event(2, "end", { status: "rolling_back" }))).toEqual([{ event: "end", data: { run_id: "r1", status: "running" }, id: "2" }]);
  });

  it("turns runbus's error event into the API's {error, message}", () => {
    expect(new SseEvents(undefined).frames(event(3, "error", { name: "BoomError", message: "boom" }))).toEqual([
      { event: "error", data: { error: "BoomError", message: "boom" }, id: "3" },
    ]);
  });

  it("streams messages-tuple as tuples, and the older messages mode as metadata, partials and completes", () => {
    const tuples = new SseEvents(["messages-tuple"]);
    expect(tuples.frames(event(1, "messages", chunk("m1", "Hel")))).toEqual([{ event: "messages", data: chunk("m1", "Hel"), id: "1" }]);

    const legacy = new SseEvents(["messages"]);
    expect(legacy.frames(event(1, "messages|child:abc", chunk("m1", "Hel")))).toEqual([
      { event: "messages/metadata|child:abc", data: { m1: { metadata: { langgraph_node: "model" } } }, id: "1" },
      { event: "messages/partial|child:abc", data: [{ type: "ai", id: "m1", content: "Hel" }], id: "1" },
    ]);
    expect(legacy.frames(event(2, "messages|child:abc", chunk("m1", "lo")))).toEqual([
      { event: "messages/partial|child:abc", data: [{ type: "ai", id: "m1", content: "Hello" }], id: "2" },
    ]);
    expect(legacy.frames(event(3, "end", { status: "success" }))).toEqual([
      { event: "messages/complete|child:abc", data: [{ type: "ai", id: "m1", content: "Hello" }], id: "3" },
      { event: "end", data: { run_id: "r1", status: "success" }, id: "3" },
    ]);
  });

  it("keeps only the modes a join asks for, and always metadata, error and end", () => {
    const events = new SseEvents(["values", "updates", "messages-tuple"], ["updates"]);
    expect(events.frames(event(1, "values", {}))).toEqual([]);
    expect(events.frames(event(2, "messages", chunk("m", "x")))).toEqual([]);
    expect(events.frames(event(3, "updates|sub:1", {}))).toHaveLength(1);
    expect(events.frames(event(4, "end", { status: "success" }))).toHaveLength(1);
  });

  it("formats one frame as event, one line of data, and id", () => {
    expect(formatFrame({ event: "values", data: { text: "a\nb" }, id: "7" })).toBe('event: values\ndata: {"text":"a\\nb"}\nid: 7\n\n');
  });
});

describe("Last-Event-ID", () => {
  it("resumes after the given seq; -1 or none means from the start; anything else is refused", () => {
    expect(seqAfter(undefined)).toBe(0);
    expect(seqAfter("-1")).toBe(0);
    expect(seqAfter("4")).toBe(5);
    expect(seqAfter("x")).toBeNull();
    expect(seqAfter("1.5")).toBeNull();
  });
});

describe("assistant ids", () => {
  it("are the LangGraph API server's: the graph id's v5 UUID in its namespace", () => {
    // Test vectors from the `uuid` package the API server uses.
    expect(assistantIdOf("agent")).toBe("fe096781-5601-53d2-b2f6-0d3403f7e9ca");
    expect(assistantIdOf("två-graph")).toBe("ee293d9d-66f7-5bf5-9b8f-8ab7af2fc421");
  });
});

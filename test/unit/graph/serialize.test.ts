import {
  AIMessage,
  AIMessageChunk,
  ChatMessage,
  HumanMessage,
  HumanMessageChunk,
  RemoveMessage,
  SystemMessage,
  ToolMessage,
  ToolMessageChunk,
  type BaseMessage,
} from "@langchain/core/messages";
import { Command, Send } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { RunbusError } from "../../../src/errors.js";
import { toJson, type JsonValue } from "../../../src/graph/serialize.js";

/** toJson's output must survive a JSON round trip unchanged: that is what lands on Kafka. */
function expectJsonSafe(value: JsonValue): void {
  expect(JSON.parse(JSON.stringify(value))).toEqual(value);
}

/** What the LangGraph API server sends for a message: `{...toDict().data, type}`, without undefined fields. */
function apiServerShape(message: BaseMessage): unknown {
  const { type, data } = message.toDict();
  return JSON.parse(JSON.stringify({ ...data, type }));
}

describe("toJson of LangChain messages", () => {
  const messages: [string, BaseMessage][] = [
    ["HumanMessage", new HumanMessage({ content: "hi", id: "h1", name: "ann" })],
    ["HumanMessageChunk", new HumanMessageChunk({ content: "h", id: "h2" })],
    ["SystemMessage", new SystemMessage("be brief")],
    ["AIMessage", new AIMessage({ content: "ok", id: "a1", response_metadata: { model: "m" } })],
    [
      "AIMessageChunk",
      new AIMessageChunk({ content: "to", id: "a2", tool_call_chunks: [{ name: "f", args: '{"q":', id: "c1", index: 0 }] }),
    ],
    ["ToolMessage", new ToolMessage({ content: "42", tool_call_id: "c1", name: "f", status: "success", artifact: { rows: 1 } })],
    ["ToolMessageChunk", new ToolMessageChunk({ content: "4", tool_call_id: "c2" })],
    ["ChatMessage", new ChatMessage({ content: "hmm", role: "critic" })],
    ["RemoveMessage", new RemoveMessage({ id: "h1" })],
  ];

  it.each(messages)("serializes a %s as the LangGraph API server does", (_name, message) => {
    const json = toJson(message);
    expect(json).toEqual(apiServerShape(message));
    expect(json).not.toHaveProperty("lc_kwargs");
    expectJsonSafe(json);
  });

  it("serializes an AIMessage with tool_calls and usage_metadata field by field", () => {
    const message = new AIMessage({
      content: [{ type: "text", text: "Looking it up." }],
      id: "run-1",
      tool_calls: [{ name: "search", args: { q: "kafka" }, id: "call_1", type: "tool_call" }],
      usage_metadata: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
      additional_kwargs: { refusal: null },
      response_metadata: { finish_reason: "tool_calls" },
    });
    expect(toJson(message)).toEqual({
      type: "ai",
      id: "run-1",
      content: [{ type: "text", text: "Looking it up." }],
      tool_calls: [{ name: "search", args: { q: "kafka" }, id: "call_1", type: "tool_call" }],
      invalid_tool_calls: [],
      usage_metadata: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
      additional_kwargs: { refusal: null },
      response_metadata: { finish_reason: "tool_calls" },
    });
  });

  it("reads a field assigned after construction, which toDict() would miss", () => {
    const message = new AIMessage("late");
    message.name = "assistant";
    expect(message.toDict().data).not.toHaveProperty("name");
    expect(toJson(message)).toMatchObject({ type: "ai", name: "assistant", content: "late" });
  });

  it("serializes messages nested in state and in a messages-mode tuple", () => {
    const human = new HumanMessage({ content: "q", id: "1" });
    expect(toJson({ messages: [human] })).toEqual({ messages: [apiServerShape(human)] });
    expect(toJson([human, { langgraph_node: "llm", ls_stop: undefined }])).toEqual([apiServerShape(human), { langgraph_node: "llm" }]);
  });
});

describe("toJson of LangGraph objects", () => {
  it("serializes a Command with update, resume and Send gotos", () => {
    const command = new Command({
      update: { n: 1, messages: [new HumanMessage({ content: "x", id: "m" })] },
      resume: "yes",
      goto: [new Send("b", { x: 1 })],
    });
    const json = toJson(command);
    expect(json).toEqual({
      lg_name: "Command",
      update: { n: 1, messages: [{ type: "human", id: "m", content: "x", additional_kwargs: {}, response_metadata: {} }] },
      resume: "yes",
      goto: [{ lg_name: "Send", node: "b", args: { x: 1 } }],
    });
    expectJsonSafe(json);
  });

  it("serializes a Send and an interrupt list", () => {
    expect(toJson(new Send("node", { k: [1] }))).toEqual({ lg_name: "Send", node: "node", args: { k: [1] } });
    expect(toJson({ __interrupt__: [{ id: "i1", value: { question: "ok?" } }] })).toEqual({
      __interrupt__: [{ id: "i1", value: { question: "ok?" } }],
    });
  });
});

describe("toJson of JavaScript values", () => {
  it("turns errors into {name, message}", () => {
    expect(toJson(new TypeError("bad input"))).toEqual({ name: "TypeError", message: "bad input" });
    expect(toJson({ error: new RunbusError("graph_error", "boom") })).toEqual({ error: { name: "RunbusError", message: "boom" } });
  });

  it("turns Date, Map, Set and BigInt into JSON equivalents", () => {
    const when = new Date("2024-05-06T07:08:09.010Z");
    expect(toJson(when)).toBe("2024-05-06T07:08:09.010Z");
    expect(toJson(new Date(Number.NaN))).toBeNull();
    const map = new Map<unknown, unknown>([
      ["a", 1],
      [2, when],
      ["skip", undefined],
    ]);
    expect(toJson(map)).toEqual({ a: 1, "2": "2024-05-06T07:08:09.010Z" });
    expect(toJson(new Set([1, "two", undefined]))).toEqual([1, "two", null]);
    expect(toJson(12345678901234567890n)).toBe("12345678901234567890");
  });

  it("drops undefined, functions and symbols from objects and writes null for them in arrays", () => {
    const value = { a: undefined, b: () => 1, c: Symbol("s"), d: 1, list: [undefined, () => 1, Symbol("s"), 2] };
    expect(toJson(value)).toEqual({ d: 1, list: [null, null, null, 2] });
    // eslint-disable-next-line no-sparse-arrays
    expect(toJson([1, , 3])).toEqual([1, null, 3]);
    expect(toJson(undefined)).toBeNull();
  });

  it("writes what JSON.stringify would for numbers JSON cannot hold", () => {
    const json = toJson([Number.NaN, Number.POSITIVE_INFINITY, -0, 1.5]);
    expect(json).toEqual([null, null, 0, 1.5]);
    expect(Object.is((json as number[])[2], 0)).toBe(true);
  });

  it("uses toJSON, and falls back to the fields when toJSON throws", () => {
    class Money {
      constructor(readonly cents: number) {}
      toJSON(): string {
        return `${this.cents / 100} EUR`;
      }
    }
    class Broken {
      readonly kept = 1;
      toJSON(): never {
        throw new Error("no");
      }
    }
    expect(toJson({ price: new Money(250) })).toEqual({ price: "2.5 EUR" });
    expect(toJson(new Broken())).toEqual({ kept: 1 });
  });

  it("keeps own enumerable fields of class instances without toJSON", () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number | undefined,
      ) {}
      get length(): number {
        return this.x;
      }
    }
    expect(toJson(new Point(3, undefined))).toEqual({ x: 3 });
  });

  it("replaces circular references with [Circular] without throwing", () => {
    const node: Record<string, unknown> = { name: "root" };
    node.self = node;
    node.children = [{ parent: node }];
    const map = new Map<string, unknown>();
    map.set("me", map);
    const json = toJson({ node, map });
    expect(json).toEqual({ node: { name: "root", self: "[Circular]", children: [{ parent: "[Circular]" }] }, map: { me: "[Circular]" } });
    expectJsonSafe(json);
  });

  it("writes an object shared without a cycle in full each time", () => {
    const shared = { v: 1 };
    expect(toJson({ a: shared, b: [shared, shared] })).toEqual({ a: { v: 1 }, b: [{ v: 1 }, { v: 1 }] });
  });

  it("keeps a __proto__ key as data instead of changing the prototype", () => {
    const parsed: unknown = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
    const json = toJson(parsed) as Record<string, unknown>;
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
    expect(JSON.stringify(json)).toBe('{"__proto__":{"polluted":true},"ok":1}');
  });
});

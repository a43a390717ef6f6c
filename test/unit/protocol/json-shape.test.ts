import { describe, expect, it } from "vitest";
import { RunbusError } from "../../../src/errors.js";
import { parseCommand } from "../../../src/protocol/parse-command.js";
import { MAX_JSON_DEPTH, jsonShapeIssue } from "../../../src/protocol/json-shape.js";

function rejection(raw: unknown): RunbusError {
  try {
    parseCommand(raw, { maxBytes: 10_000_000 });
  } catch (error) {
    expect(error).toBeInstanceOf(RunbusError);
    return error as RunbusError;
  }
  throw new Error("Expected a RunbusError, but nothing was thrown.");
}

const nestedArrays = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
const command = (input: string) => `{"type":"run.create","thread_id":"t-1","graph_id":"echo","input":${input}}`;

describe("parseCommand: the shape of the JSON", () => {
  it(`takes containers nested ${MAX_JSON_DEPTH} deep and refuses one more as json_too_deep`, () => {
    // The command object is level 1, so its input may nest MAX_JSON_DEPTH - 1 levels.
    expect(parseCommand(command(nestedArrays(MAX_JSON_DEPTH - 1))).type).toBe("run.create");
    const error = rejection(command(nestedArrays(MAX_JSON_DEPTH)));
    expect(error.code).toBe("json_too_deep");
    expect(error.message).toMatch(/^Command nests deeper than 64 levels \(at input(\.0)+\)\.$/);
  });

  it("measures any depth JSON.parse builds without overflowing the stack", () => {
    for (const depth of [10_000, 1_000_000]) expect(rejection(nestedArrays(depth)).code).toBe("json_too_deep");
    expect(rejection(`${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`).message.length).toBeLessThan(300);
  });

  it("refuses a __proto__ key at any depth (zod would drop it from a record without a word)", () => {
    for (const raw of [
      '{"type":"thread.create","thread_id":"t-1","__proto__":{"polluted":true}}',
      '{"type":"thread.create","thread_id":"t-1","metadata":{"__proto__":{"polluted":true}}}',
      command('{"a":[{"constructor":{"prototype":{"__proto__":{"polluted":true}}}}]}'),
    ]) {
      const error = rejection(raw);
      expect(error.code).toBe("invalid_command");
      expect(error.message).toContain('has a "__proto__" key');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("keeps constructor and prototype as the plain data keys they are in free-form fields", () => {
    const parsed = parseCommand('{"type":"thread.create","thread_id":"t-1","metadata":{"constructor":{"prototype":1}}}');
    expect(parsed).toEqual({ type: "thread.create", thread_id: "t-1", metadata: { constructor: { prototype: 1 } } });
  });

  it("refuses bytes that are not UTF-8 instead of reading them as U+FFFD", () => {
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]]) {
      const raw = Buffer.concat([Buffer.from('{"type":"thread.create","thread_id":"t-1","metadata":{"k":"'), Buffer.from(bad), Buffer.from('"}}')]);
      const error = rejection(raw);
      expect(error.code).toBe("invalid_json");
      expect(error.message).toBe("Command is not valid UTF-8.");
    }
  });

  it("keeps the reason short when a key is megabytes long", () => {
    const error = rejection(`{"type":"thread.create","thread_id":"t-1","${"k".repeat(1_000_000)}":1}`);
    expect(error.code).toBe("invalid_command");
    expect(error.message.length).toBeLessThan(1200);
  });
});

describe("jsonShapeIssue", () => {
  it("names where the limit is broken, with long keys cut", () => {
    expect(jsonShapeIssue({ a: [{ b: 1 }] }, "Body")).toBeNull();
    expect(jsonShapeIssue([[[1]]], "Body", 2)).toEqual({ code: "json_too_deep", message: "Body nests deeper than 2 levels (at 0.0)." });
    const issue = jsonShapeIssue(JSON.parse(`{"${"x".repeat(500)}":{"__proto__":1}}`), "Body");
    expect(issue?.code).toBe("invalid_command");
    expect(issue!.message.length).toBeLessThan(150);
  });
});

describe("jsonShapeIssue on objects given in-process", () => {
  it("walks a shared or cyclic object once", () => {
    let shared: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 40; i++) shared = { a: shared, b: shared };
    expect(jsonShapeIssue(shared, "Input")).toBeNull();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(jsonShapeIssue(cyclic, "Input")).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { RunbusError, type ErrorCode } from "../../../src/errors.js";
import { parseCommand, salvageThreadId } from "../../../src/protocol/parse-command.js";

/** The RunbusError that `work` throws; fails the test when it throws nothing or something else. */
function thrown(work: () => unknown): RunbusError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(RunbusError);
    return error as RunbusError;
  }
  throw new Error("Expected a RunbusError, but nothing was thrown.");
}

function expectRejected(raw: unknown, code: ErrorCode, messagePart: string | RegExp, options?: { maxBytes?: number }): void {
  const error = thrown(() => parseCommand(raw, options));
  expect(error.code).toBe(code);
  expect(error.retryable).toBe(false);
  if (typeof messagePart === "string") expect(error.message).toContain(messagePart);
  else expect(error.message).toMatch(messagePart);
}

const create = { type: "run.create", thread_id: "thread-1", graph_id: "agent" } as const;

describe("parseCommand: valid commands", () => {
  it("accepts a minimal run.create and adds no defaults of its own", () => {
    expect(parseCommand(create)).toEqual(create);
  });

  it("accepts a run.create with every field", () => {
    const full = {
      type: "run.create",
      command_id: "c-1",
      run_id: "run-1",
      thread_id: "thread-1",
      graph_id: "agent",
      input: { messages: [{ role: "user", content: "hi" }] },
      command: { resume: { approved: true }, goto: ["tools"], update: [["messages", []]] },
      config: { configurable: { model: "small" }, recursion_limit: 5 },
      context: { user: "u1" },
      metadata: { origin: "test" },
      stream_mode: ["values", "updates", "messages-tuple"],
      stream_subgraphs: true,
      interrupt_before: "*",
      interrupt_after: ["tools"],
      checkpoint_id: "1ef-abc",
      multitask_strategy: "enqueue",
      if_not_exists: "reject",
      timeout_ms: 60_000,
      after_seconds: 1.5,
    };
    expect(parseCommand(full)).toEqual(full);
  });

  it("accepts command.update as an object and command.goto as one node", () => {
    const command = { resume: "yes", goto: "agent", update: { count: 1 } };
    expect(parseCommand({ ...create, command })).toMatchObject({ command });
  });

  it("accepts run.cancel, thread.create, thread.update and thread.delete", () => {
    expect(parseCommand({ type: "run.cancel", run_id: "r", thread_id: "t", action: "rollback" })).toEqual({
      type: "run.cancel",
      run_id: "r",
      thread_id: "t",
      action: "rollback",
    });
    const threadCreate = { type: "thread.create", thread_id: "t", metadata: { a: 1 }, if_exists: "do_nothing" };
    expect(parseCommand(threadCreate)).toEqual(threadCreate);
    const threadUpdate = { type: "thread.update", command_id: "c-2", thread_id: "t", metadata: {} };
    expect(parseCommand(threadUpdate)).toEqual(threadUpdate);
    const threadDelete = { type: "thread.delete", thread_id: "t", force: true };
    expect(parseCommand(threadDelete)).toEqual(threadDelete);
  });

  it("reads a command from a JSON string and from a Buffer alike", () => {
    const json = JSON.stringify(create);
    expect(parseCommand(json)).toEqual(create);
    expect(parseCommand(Buffer.from(json))).toEqual(create);
  });

  it("defaults run.cancel's action to interrupt", () => {
    expect(parseCommand({ type: "run.cancel", run_id: "r", thread_id: "t" })).toMatchObject({ action: "interrupt" });
  });
});

describe("parseCommand: rejections", () => {
  it("rejects an unknown top-level field, naming it", () => {
    expectRejected({ ...create, priority: 1 }, "invalid_command", '(root): Unrecognized key: "priority"');
  });

  it("rejects an unknown field inside command", () => {
    expectRejected({ ...create, command: { resume: 1, jump: "x" } }, "invalid_command", 'command: Unrecognized key: "jump"');
  });

  it("rejects an unknown command type, naming the type field", () => {
    expectRejected({ type: "run.purge", thread_id: "t" }, "invalid_command", "type: Invalid discriminator value");
    expectRejected({ thread_id: "t" }, "invalid_command", "type:");
  });

  it("rejects a value that is not an object at the root", () => {
    expectRejected(42, "invalid_command", "(root)");
    expectRejected("null", "invalid_command", "(root)");
    expectRejected(JSON.stringify(["run.create"]), "invalid_command", "(root)");
  });

  const badIds: Record<string, string> = {
    empty: "",
    "129 characters": "a".repeat(129),
    "a slash": "a/b",
    "a space": "a b",
    "non-ASCII letters": "thréad",
    "an emoji": "run-🚀",
    "a newline": "a\nb",
  };
  for (const [what, id] of Object.entries(badIds)) {
    it(`rejects a thread_id and a run_id with ${what}`, () => {
      expectRejected({ ...create, thread_id: id }, "invalid_command", "thread_id: must be 1 to 128 characters");
      expectRejected({ ...create, run_id: id }, "invalid_command", "run_id: must be 1 to 128 characters");
      expectRejected({ type: "run.cancel", run_id: id, thread_id: "t" }, "invalid_command", "run_id:");
      expectRejected({ type: "thread.delete", thread_id: id }, "invalid_command", "thread_id:");
    });
  }

  it("accepts ids of exactly 128 characters and every allowed character", () => {
    const longest = "a".repeat(128);
    expect(parseCommand({ ...create, thread_id: longest, run_id: "A-z_0.9" })).toMatchObject({ thread_id: longest, run_id: "A-z_0.9" });
  });

  it("rejects wrong types with the field's path in the message", () => {
    expectRejected({ ...create, graph_id: 5 }, "invalid_command", "graph_id:");
    expectRejected({ ...create, stream_mode: "values" }, "invalid_command", "stream_mode:");
    expectRejected({ ...create, command: { goto: 3 } }, "invalid_command", "command.goto:");
    expectRejected({ ...create, command: { update: [["only-a-channel"]] } }, "invalid_command", "command.update");
    expectRejected({ ...create, interrupt_before: "all" }, "invalid_command", "interrupt_before:");
    expectRejected({ ...create, timeout_ms: 0 }, "invalid_command", "timeout_ms:");
    expectRejected({ ...create, timeout_ms: 1.5 }, "invalid_command", "timeout_ms:");
    expectRejected({ ...create, after_seconds: -1 }, "invalid_command", "after_seconds:");
    expectRejected({ ...create, multitask_strategy: "queue" }, "invalid_command", "multitask_strategy:");
    expectRejected({ ...create, metadata: ["not", "an", "object"] }, "invalid_command", "metadata:");
    expectRejected({ ...create, command_id: "" }, "invalid_command", "command_id:");
    expectRejected({ type: "run.cancel", run_id: "r", thread_id: "t", action: "stop" }, "invalid_command", "action:");
    expectRejected({ type: "thread.update", thread_id: "t" }, "invalid_command", "metadata:");
    expectRejected({ type: "thread.delete", thread_id: "t", force: "yes" }, "invalid_command", "force:");
  });

  it("lists at most five problems", () => {
    const error = thrown(() =>
      parseCommand({ type: "run.create", thread_id: 1, graph_id: 2, stream_mode: 3, stream_subgraphs: 4, timeout_ms: "5", checkpoint_id: 6 }),
    );
    expect(error.message.split("; ")).toHaveLength(5);
  });

  it("rejects bad JSON as invalid_json", () => {
    expectRejected("{type: run.create}", "invalid_json", "Command is not valid JSON");
    expectRejected(Buffer.from('{"type":"run.create",'), "invalid_json", "Command is not valid JSON");
  });

  it("rejects an empty record value (a Kafka tombstone) as invalid_json", () => {
    expectRejected(Buffer.alloc(0), "invalid_json", "Command is not valid JSON");
  });

  it("rejects a value over maxBytes as command_too_large, before reading it", () => {
    const json = JSON.stringify({ ...create, input: "x".repeat(100) });
    const size = Buffer.byteLength(json);
    expectRejected(json, "command_too_large", `Command is ${size} bytes; the limit is ${size - 1}.`, { maxBytes: size - 1 });
    expectRejected(Buffer.from(json), "command_too_large", `limit is ${size - 1}`, { maxBytes: size - 1 });
    // Too large wins over not even being JSON.
    expectRejected("not json at all", "command_too_large", "limit is 3", { maxBytes: 3 });
    expect(parseCommand(json, { maxBytes: size })).toMatchObject(create);
  });

  it("counts bytes, not characters", () => {
    const json = JSON.stringify({ ...create, input: "é".repeat(10) });
    expect(json.length).toBeLessThan(Buffer.byteLength(json));
    expectRejected(json, "command_too_large", "limit", { maxBytes: json.length });
    expect(parseCommand(json, { maxBytes: Buffer.byteLength(json) })).toMatchObject(create);
  });
});

describe("salvageThreadId", () => {
  it("reads a valid thread id from an object, a JSON string or a Buffer", () => {
    expect(salvageThreadId({ thread_id: "t-1" })).toBe("t-1");
    expect(salvageThreadId('{"thread_id":"t-1"}')).toBe("t-1");
    expect(salvageThreadId(Buffer.from('{"thread_id":"t-1"}'))).toBe("t-1");
  });

  it("reads it from a command that is otherwise invalid", () => {
    const raw = JSON.stringify({ type: "run.create", thread_id: "t-1", graph_id: 7, bogus: true });
    expect(() => parseCommand(raw)).toThrow(RunbusError);
    expect(salvageThreadId(raw)).toBe("t-1");
  });

  it("gives up on ids that break the id pattern", () => {
    expect(salvageThreadId({ thread_id: "" })).toBeUndefined();
    expect(salvageThreadId({ thread_id: "a/b" })).toBeUndefined();
    expect(salvageThreadId({ thread_id: "a".repeat(129) })).toBeUndefined();
    expect(salvageThreadId({ thread_id: 42 })).toBeUndefined();
  });

  it("gives up on anything that is not an object with a thread_id", () => {
    expect(salvageThreadId("{not json")).toBeUndefined();
    expect(salvageThreadId(Buffer.alloc(0))).toBeUndefined();
    expect(salvageThreadId("null")).toBeUndefined();
    expect(salvageThreadId(null)).toBeUndefined();
    expect(salvageThreadId(undefined)).toBeUndefined();
    expect(salvageThreadId(17)).toBeUndefined();
    expect(salvageThreadId('"t-1"')).toBeUndefined();
    expect(salvageThreadId({ run_id: "r-1" })).toBeUndefined();
  });
});

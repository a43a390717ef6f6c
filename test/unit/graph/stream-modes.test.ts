import { describe, expect, it } from "vitest";
import { isRunbusError, RunbusError } from "../../../src/errors.js";
import { STREAM_MODES, toLangGraphStreamModes } from "../../../src/graph/stream-modes.js";

function rejection(requested: string[]): RunbusError {
  try {
    toLangGraphStreamModes(requested);
  } catch (error) {
    if (error instanceof RunbusError) return error;
    throw error;
  }
  throw new Error(`Expected ${JSON.stringify(requested)} to be rejected.`);
}

describe("toLangGraphStreamModes", () => {
  it.each([
    ["values", "values"],
    ["updates", "updates"],
    ["messages", "messages"],
    ["messages-tuple", "messages"],
    ["custom", "custom"],
    ["tasks", "tasks"],
    ["checkpoints", "checkpoints"],
    ["debug", "debug"],
  ])("maps %s to LangGraph %s", (mode, expected) => {
    expect(toLangGraphStreamModes([mode])).toEqual([expected]);
  });

  it("accepts every mode it advertises", () => {
    expect(STREAM_MODES).toHaveLength(8);
    expect(toLangGraphStreamModes(STREAM_MODES)).toEqual(["values", "updates", "messages", "custom", "tasks", "checkpoints", "debug"]);
  });

  it("defaults to values when no mode is requested", () => {
    expect(toLangGraphStreamModes(undefined)).toEqual(["values"]);
    expect(toLangGraphStreamModes([])).toEqual(["values"]);
  });

  it("collapses duplicates, including messages and messages-tuple, keeping first-seen order", () => {
    expect(toLangGraphStreamModes(["updates", "messages-tuple", "values", "messages", "updates"])).toEqual([
      "updates",
      "messages",
      "values",
    ]);
  });

  it("rejects events with unsupported_stream_mode and a reason naming it and the accepted modes", () => {
    const error = rejection(["values", "events"]);
    expect(isRunbusError(error, "unsupported_stream_mode")).toBe(true);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('"events" is not supported');
    for (const mode of STREAM_MODES) expect(error.message).toContain(mode);
  });

  it.each(["bogus", "Values", "tools", "toString", "__proto__", ""])("rejects the unknown mode %j, naming it", (mode) => {
    const error = rejection([mode]);
    expect(error.code).toBe("unsupported_stream_mode");
    expect(error.message).toContain(`Unknown stream mode ${JSON.stringify(mode)}`);
  });
});

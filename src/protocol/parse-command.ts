import { RunbusError } from "../errors.js";
import { commandSchema, type Command } from "./commands.js";
import { ID_PATTERN } from "./ids.js";
import { jsonShapeIssue } from "./json-shape.js";

/** Values are UTF-8 JSON (DESIGN §4): bytes that are not UTF-8 are refused, not replaced with U+FFFD. */
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Validates one command from the wire. Throws RunbusError with code invalid_json,
 * invalid_command, command_too_large or json_too_deep, and a message that says exactly what is wrong.
 */
export function parseCommand(raw: Buffer | string | unknown, options: { maxBytes?: number } = {}): Command {
  let value: unknown = raw;
  if (typeof raw === "string" || Buffer.isBuffer(raw)) {
    const size = typeof raw === "string" ? Buffer.byteLength(raw) : raw.length;
    if (options.maxBytes !== undefined && size > options.maxBytes) {
      throw new RunbusError("command_too_large", `Command is ${size} bytes; the limit is ${options.maxBytes}.`);
    }
    let text: string;
    try {
      text = typeof raw === "string" ? raw : utf8.decode(raw);
    } catch {
      throw new RunbusError("invalid_json", "Command is not valid UTF-8.");
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new RunbusError("invalid_json", `Command is not valid JSON: ${(error as Error).message}`);
    }
  }
  const shape = jsonShapeIssue(value, "Command");
  if (shape) throw new RunbusError(shape.code, shape.message);
  const parsed = commandSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((issue) => clip(`${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`))
      .join("; ");
    throw new RunbusError("invalid_command", `Invalid command: ${issues}.`);
  }
  return parsed.data;
}

/**
 * Best-effort read of the thread id and command id of an invalid command, so its reply can
 * still be keyed and correlated.
 */
export function salvageIds(value: unknown): { threadId?: string; commandId?: string } {
  let candidate: unknown = value;
  if (typeof value === "string" || Buffer.isBuffer(value)) {
    try {
      candidate = JSON.parse(value.toString());
    } catch {
      return {};
    }
  }
  const { thread_id: threadId, command_id: commandId } = (candidate ?? {}) as { thread_id?: unknown; command_id?: unknown };
  return {
    ...(typeof threadId === "string" && ID_PATTERN.test(threadId) ? { threadId } : {}),
    ...(typeof commandId === "string" && commandId.length > 0 && commandId.length <= 128 ? { commandId } : {}),
  };
}

export function salvageThreadId(value: unknown): string | undefined {
  return salvageIds(value).threadId;
}

/** An issue can quote a hostile key or value of any length: a reason keeps the head of it. */
function clip(issue: string): string {
  return issue.length > 200 ? `${issue.slice(0, 200)}…` : issue;
}

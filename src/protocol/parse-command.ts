import { RunbusError } from "../errors.js";
import { commandSchema, type Command } from "./commands.js";
import { ID_PATTERN } from "./ids.js";

/**
 * Validates one command from the wire. Throws RunbusError with code invalid_json,
 * invalid_command or command_too_large, and a message that says exactly what is wrong.
 */
export function parseCommand(raw: Buffer | string | unknown, options: { maxBytes?: number } = {}): Command {
  let value: unknown = raw;
  if (typeof raw === "string" || Buffer.isBuffer(raw)) {
    const size = typeof raw === "string" ? Buffer.byteLength(raw) : raw.length;
    if (options.maxBytes !== undefined && size > options.maxBytes) {
      throw new RunbusError("command_too_large", `Command is ${size} bytes; the limit is ${options.maxBytes}.`);
    }
    try {
      value = JSON.parse(raw.toString());
    } catch (error) {
      throw new RunbusError("invalid_json", `Command is not valid JSON: ${(error as Error).message}`);
    }
  }
  const parsed = commandSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`)
      .join("; ");
    throw new RunbusError("invalid_command", `Invalid command: ${issues}.`);
  }
  return parsed.data;
}

/** Best-effort read of a valid thread id from an invalid command, so a reply can still be keyed. */
export function salvageThreadId(value: unknown): string | undefined {
  let candidate: unknown = value;
  if (typeof value === "string" || Buffer.isBuffer(value)) {
    try {
      candidate = JSON.parse(value.toString());
    } catch {
      return undefined;
    }
  }
  const threadId = (candidate as { thread_id?: unknown } | null)?.thread_id;
  return typeof threadId === "string" && ID_PATTERN.test(threadId) ? threadId : undefined;
}

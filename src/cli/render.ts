import type { Transition } from "../protocol/audit.js";
import type { RunEvent } from "../protocol/events.js";

/** Terminal rendering of run events and transitions: one readable line each, tokens inline. */

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
export const dim = paint(2);
export const bold = paint(1);
export const green = paint(32);
export const red = paint(31);
export const yellow = paint(33);
export const cyan = paint(36);

export function statusColor(status: string): (text: string) => string {
  if (status === "success" || status === "idle") return green;
  if (status === "error" || status === "timeout") return red;
  return yellow;
}

export function renderTransition(t: Transition): string {
  const from = t.from ?? "∅";
  const what = t.kind === "run" ? `run    ${t.id.slice(0, 8)}` : `thread ${t.id}`;
  return `${dim("⇢")} ${cyan(what)} ${from} → ${statusColor(t.to)(t.to)} ${dim(`(${t.cause})`)}`;
}

interface MessageLike {
  type?: string;
  content?: unknown;
  tool_calls?: Array<{ name: string; args: unknown }>;
  name?: string;
}

function textOf(message: MessageLike): string {
  if (typeof message.content === "string") return message.content;
  if (Array.isArray(message.content)) {
    return message.content.map((part) => (typeof part === "string" ? part : ((part as { text?: string }).text ?? ""))).join("");
  }
  return "";
}

/**
 * Renders one event. `messages` chunks come back as bare text so a streamed reply reads as it
 * grows; everything else is a full line.
 */
export function renderEvent(event: RunEvent): { inline: string } | { line: string } | { skip: true } {
  const tag = dim(`#${String(event.seq).padStart(3, " ")}`);
  const [mode] = event.name.split("|");
  if (mode === "messages") {
    const [message] = event.data as [MessageLike, unknown];
    const text = textOf(message);
    // Only the model's own tokens stream inline; tool results show on their `updates` line.
    const fromModel = message.type === "ai" || message.type === "AIMessageChunk";
    return fromModel && text ? { inline: text } : { skip: true };
  }
  if (event.name === "metadata") {
    const data = event.data as { run_id: string; attempt: number };
    return { line: `${tag} ${bold("metadata")} run ${data.run_id} attempt ${data.attempt}` };
  }
  if (event.name === "end") {
    const data = event.data as { status: string; error?: { message: string } };
    return { line: `${tag} ${bold("end")} ${statusColor(data.status)(data.status)}${data.error ? ` — ${data.error.message}` : ""}` };
  }
  if (event.name === "error") return { line: `${tag} ${red("error")} ${JSON.stringify(event.data)}` };
  if (mode === "updates") {
    const parts = Object.entries(event.data as Record<string, unknown>).map(([node, update]) => `${bold(node)} ${summarizeUpdate(update)}`);
    return { line: `${tag} ${event.name.padEnd(8)} ${parts.join("; ")}` };
  }
  return { line: `${tag} ${event.name.padEnd(8)} ${truncate(JSON.stringify(event.data), 110)}` };
}

function summarizeUpdate(update: unknown): string {
  const messages = (update as { messages?: MessageLike[] } | null)?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return truncate(JSON.stringify(update), 100);
  const last = messages[messages.length - 1]!;
  if (last.tool_calls?.length) return `→ calls ${last.tool_calls.map((c) => `${c.name}(${JSON.stringify(c.args)})`).join(", ")}`;
  if (last.type === "tool") return `→ ${last.name ?? "tool"} returned ${JSON.stringify(truncate(textOf(last), 70))}`;
  return `→ ${last.type ?? "message"}: ${JSON.stringify(truncate(textOf(last), 70))}`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

import type { TokenUsage } from "../ports.js";

interface MessageLike {
  type?: unknown;
  id?: unknown;
  content?: unknown;
  tool_calls?: unknown;
  usage_metadata?: Partial<TokenUsage> | null;
}

const AI_TYPES: ReadonlySet<unknown> = new Set(["ai", "AIMessageChunk"]);

/**
 * Sums the token usage of the AI messages a run streamed, read from its `updates` and `values`
 * chunks. Each message counts once, however many chunks show it; the messages already in the
 * first `values` chunk of a namespace are the thread's history and input, not this run's work.
 *
 * An `updates` chunk carries a node's messages before the reducer gives them ids, and the next
 * `values` chunk carries them with ids; the same message is recognised by its content then.
 */
export class TokenTally {
  private readonly usage: TokenUsage = { input_tokens: 0, output_tokens: 0, total_tokens: 0 };
  private readonly ids = new Set<string>();
  /** Content signatures of every message seen, and of those seen without an id. */
  private readonly contents = new Set<string>();
  private readonly contentsWithoutId = new Set<string>();
  private readonly valuesSeenIn = new Set<string>();

  get total(): TokenUsage {
    return { ...this.usage };
  }

  add(event: { name: string; data: unknown }): void {
    const mode = event.name.split("|")[0];
    if (mode === "updates") {
      for (const update of updatesOf(event.data)) this.countAll(messagesOf(update));
    } else if (mode === "values") {
      const messages = messagesOf(event.data);
      if (this.valuesSeenIn.has(event.name)) {
        this.countAll(messages);
      } else {
        this.valuesSeenIn.add(event.name);
        for (const message of messages) this.remember(message);
      }
    }
  }

  private countAll(messages: MessageLike[]): void {
    for (const message of messages) {
      if (!AI_TYPES.has(message.type) || !message.usage_metadata || this.known(message)) continue;
      this.remember(message);
      const usage = message.usage_metadata;
      const input = usage.input_tokens ?? 0;
      const output = usage.output_tokens ?? 0;
      this.usage.input_tokens += input;
      this.usage.output_tokens += output;
      this.usage.total_tokens += usage.total_tokens ?? input + output;
    }
  }

  private known(message: MessageLike): boolean {
    const id = idOf(message);
    const content = signatureOf(message);
    return id === undefined ? this.contents.has(content) : this.ids.has(id) || this.contentsWithoutId.has(content);
  }

  private remember(message: MessageLike): void {
    const id = idOf(message);
    const content = signatureOf(message);
    this.contents.add(content);
    if (id === undefined) this.contentsWithoutId.add(content);
    else this.ids.add(id);
  }
}

/** An `updates` chunk maps node names to what each returned (one update, or a list of them). */
function updatesOf(data: unknown): unknown[] {
  if (data === null || typeof data !== "object") return [];
  return Object.values(data).flatMap((update: unknown) => (Array.isArray(update) ? update : [update]));
}

function messagesOf(state: unknown): MessageLike[] {
  const messages = (state as { messages?: unknown } | null)?.messages;
  if (Array.isArray(messages)) return messages.filter((m): m is MessageLike => m !== null && typeof m === "object");
  // A node may return a single message instead of a list.
  return messages !== null && typeof messages === "object" ? [messages as MessageLike] : [];
}

function idOf(message: MessageLike): string | undefined {
  return typeof message.id === "string" && message.id !== "" ? message.id : undefined;
}

function signatureOf(message: MessageLike): string {
  const { type, content, tool_calls, usage_metadata } = message;
  return JSON.stringify([type, content ?? null, tool_calls ?? null, usage_metadata ?? null]);
}

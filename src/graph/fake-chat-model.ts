import { setTimeout as sleep } from "node:timers/promises";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import type { BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import { AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";
import type { StructuredTool } from "@langchain/core/tools";
import { FakeListChatModel, type ToolSpec } from "@langchain/core/utils/testing";

export interface ScriptedToolCall {
  name: string;
  args: Record<string, unknown>;
}

/** One scripted reply: plain text, or tool calls (optionally with some text before them). */
export type ScriptedTurn = string | { text?: string; toolCalls: ScriptedToolCall[] };

/** A turn may be computed from the prompt, e.g. to answer with a tool's result. */
export type ScriptedTurnSource = ScriptedTurn | ((messages: BaseMessage[]) => ScriptedTurn);

export interface ScriptedChatModelFields extends BaseChatModelParams {
  turns: ScriptedTurnSource[];
  /** Pause before each streamed token; the pause ends early when the call is aborted. */
  tokenDelayMs?: number;
}

/**
 * A deterministic chat model that plays a script of turns.
 *
 * The turn is picked from the prompt, not from a counter: the reply after N AI
 * messages is turn N (wrapping around). A replayed or resumed node therefore
 * gets the same reply, and one compiled graph can serve many threads.
 *
 * Text streams one word per chunk; the last chunk carries the tool calls and
 * `usage_metadata` (input: words in the prompt; output: one per streamed word
 * and per tool call).
 */
export class ScriptedChatModel extends FakeListChatModel {
  readonly turns: ScriptedTurnSource[];
  readonly tokenDelayMs: number;
  private boundToolNames: string[] = [];

  constructor(fields: ScriptedChatModelFields) {
    const { turns, tokenDelayMs = 0, ...rest } = fields;
    if (turns.length === 0) throw new Error("ScriptedChatModel needs at least one turn.");
    super({ ...rest, responses: turns.map((turn) => (typeof turn === "string" ? turn : "")) });
    this.turns = turns;
    this.tokenDelayMs = tokenDelayMs;
  }

  static override lc_name(): string {
    return "ScriptedChatModel";
  }

  override _llmType(): string {
    return "scripted-fake";
  }

  /** The script decides which tools are called; binding only lets it check their names. */
  override bindTools(tools: (StructuredTool | ToolSpec)[]): ScriptedChatModel {
    const bound = new ScriptedChatModel({ turns: this.turns, tokenDelayMs: this.tokenDelayMs });
    bound.boundToolNames = [...this.boundToolNames, ...tools.map((tool) => tool.name)];
    return bound;
  }

  override async _generate(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    let reply: ChatGenerationChunk | undefined;
    for await (const chunk of this._streamResponseChunks(messages, options, runManager)) {
      reply = reply === undefined ? chunk : reply.concat(chunk);
    }
    if (reply === undefined) throw new Error("ScriptedChatModel produced no chunks.");
    return { generations: [reply] };
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const turnIndex = messages.filter((message) => message.type === "ai").length;
    const turn = this.resolveTurn(turnIndex, messages);
    const text = typeof turn === "string" ? turn : (turn.text ?? "");
    const toolCalls = typeof turn === "string" ? [] : turn.toolCalls;
    const unbound = toolCalls.find((call) => !this.boundToolNames.includes(call.name));
    if (unbound !== undefined) throw new Error(`Scripted tool call '${unbound.name}' names a tool that is not bound.`);
    // Split after whitespace so the tokens join back into exactly `text`.
    const tokens = text === "" ? [] : text.split(/(?<=\s)/);

    for (const token of tokens) {
      if (this.tokenDelayMs > 0) await sleep(this.tokenDelayMs, undefined, { signal: options.signal });
      options.signal?.throwIfAborted();
      const chunk = new ChatGenerationChunk({ text: token, message: new AIMessageChunk({ content: token }) });
      yield chunk;
      await runManager?.handleLLMNewToken(token, undefined, undefined, undefined, undefined, { chunk });
    }

    const inputTokens = messages.reduce((sum, message) => sum + countWords(message.text), 0);
    const outputTokens = tokens.length + toolCalls.length;
    const last = new ChatGenerationChunk({
      text: "",
      message: new AIMessageChunk({
        content: "",
        tool_call_chunks: toolCalls.map((call, index) => ({
          type: "tool_call_chunk",
          id: `call_${turnIndex}_${index}`,
          name: call.name,
          args: JSON.stringify(call.args),
          index,
        })),
        usage_metadata: {
          input_tokens: inputTokens,
          output_tokens: outputTokens,
          total_tokens: inputTokens + outputTokens,
        },
      }),
    });
    yield last;
    await runManager?.handleLLMNewToken("", undefined, undefined, undefined, undefined, { chunk: last });
  }

  private resolveTurn(turnIndex: number, messages: BaseMessage[]): ScriptedTurn {
    const source = this.turns[turnIndex % this.turns.length];
    if (source === undefined) throw new Error(`ScriptedChatModel has no turn ${turnIndex}.`);
    return typeof source === "function" ? source(messages) : source;
  }
}

function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => word !== "").length;
}

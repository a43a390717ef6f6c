import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { LLMResult } from "@langchain/core/outputs";
import type { Serialized } from "@langchain/core/load/serializable";
import type { Journal, TokenUsage } from "../ports.js";
import { toJson } from "./serialize.js";

interface Started {
  at: number;
  name: string | null;
}

/**
 * Listens to one run's LangChain callbacks: sums the chat models' token usage and writes LLM
 * calls and tool results to the journal.
 */
export class RunJournalCallbacks extends BaseCallbackHandler {
  readonly name = "runbus-journal";
  readonly usage: TokenUsage = { input_tokens: 0, output_tokens: 0, total_tokens: 0 };
  private readonly started = new Map<string, Started>();

  private rootRunId: string | null = null;

  constructor(
    private readonly run: { run_id: string; thread_id: string },
    private readonly journal: Journal,
    private readonly now: () => Date = () => new Date(),
    /** What the human said to start the run, journaled first when the graph starts. */
    private readonly human: HumanMessage | null = null,
    /** Told of each model call's token usage (metrics). */
    private readonly onUsage?: (model: string | null, usage: TokenUsage) => void,
  ) {
    // Awaited, not left to LangChain's background queue: under concurrent runs that queue lags,
    // and a run's record would be written before its last model call's usage had been counted.
    super({ _awaitHandler: true });
  }

  override handleChainStart(chain: Serialized, _inputs: unknown, runId: string, parentRunId?: string, _tags?: string[], _metadata?: Record<string, unknown>, _runType?: string, runName?: string): void {
    // The graph itself is the one chain without a parent; its nodes are its children.
    if (parentRunId !== undefined || this.rootRunId !== null) return;
    this.rootRunId = runId;
    const name = runName ?? nameOf(chain) ?? "graph";
    this.started.set(runId, { at: this.now().getTime(), name });
    if (this.human) this.journal.append({ kind: "human_message", ...this.run, at: this.now(), ...this.human });
    this.journal.append({ kind: "chain_start", ...this.run, at: this.now(), name });
  }

  override handleChainEnd(_outputs: unknown, runId: string): void {
    this.endRoot(runId);
  }

  override handleChainError(_error: Error, runId: string): void {
    // A graph paused by interrupt() ends its chain with an error too: the chain ended either way.
    this.endRoot(runId);
  }

  private endRoot(runId: string): void {
    if (runId !== this.rootRunId) return;
    const start = this.take(runId);
    this.journal.append({ kind: "chain_end", ...this.run, at: this.now(), name: start?.name ?? "graph", latency_ms: start ? this.now().getTime() - start.at : 0 });
  }

  override handleLLMStart(llm: Serialized, _prompts: string[], runId: string): void {
    this.started.set(runId, { at: this.now().getTime(), name: nameOf(llm) });
  }

  override handleChatModelStart(llm: Serialized, _messages: unknown[][], runId: string): void {
    this.started.set(runId, { at: this.now().getTime(), name: nameOf(llm) });
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    const start = this.take(runId);
    const usage = usageOf(output);
    if (usage) {
      this.onUsage?.(start?.name ?? null, usage);
      this.usage.input_tokens += usage.input_tokens;
      this.usage.output_tokens += usage.output_tokens;
      this.usage.total_tokens += usage.total_tokens;
    }
    this.journal.append({
      kind: "llm_call",
      ...this.run,
      at: this.now(),
      model: start?.name ?? null,
      latency_ms: start ? this.now().getTime() - start.at : 0,
      token_usage: usage,
    });
  }

  override handleLLMError(error: Error, runId: string): void {
    this.take(runId);
    this.journal.append({ kind: "error", ...this.run, at: this.now(), name: error.name, message: error.message });
  }

  override handleToolStart(tool: Serialized, _input: string, runId: string, _parentRunId?: string, _tags?: string[], _metadata?: Record<string, unknown>, runName?: string): void {
    this.started.set(runId, { at: this.now().getTime(), name: runName ?? nameOf(tool) });
  }

  override handleToolEnd(output: unknown, runId: string): void {
    const start = this.take(runId);
    this.journal.append({
      kind: "tool_result",
      ...this.run,
      at: this.now(),
      tool: start?.name ?? "unknown",
      latency_ms: start ? this.now().getTime() - start.at : 0,
      output: toJson(output),
    });
  }

  override handleToolError(error: Error, runId: string): void {
    this.take(runId);
    this.journal.append({ kind: "error", ...this.run, at: this.now(), name: error.name, message: error.message });
  }

  private take(runId: string): Started | undefined {
    const start = this.started.get(runId);
    this.started.delete(runId);
    return start;
  }
}

export interface HumanMessage {
  source: "input" | "resume";
  content: unknown;
}

/**
 * What the human said to start a run, as the seed journals it: the resume value of a resume,
 * else the content of the input's last human message (LangChain message or `{role: "user"}`).
 */
export function humanMessageOf(request: { input?: unknown; command?: { resume?: unknown } | undefined }): HumanMessage | null {
  if (request.command?.resume !== undefined) return { source: "resume", content: toJson(request.command.resume) };
  const messages = (request.input as { messages?: unknown } | null | undefined)?.messages;
  if (!Array.isArray(messages)) return null;
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as { type?: unknown; role?: unknown; content?: unknown; _getType?: () => string } | null;
    if (!message || typeof message !== "object") continue;
    const kind = typeof message._getType === "function" ? message._getType() : (message.type ?? message.role);
    if (kind === "human" || kind === "user") return { source: "input", content: toJson(message.content ?? null) };
  }
  return null;
}

function nameOf(serialized: Serialized): string | null {
  const id = (serialized as { id?: unknown }).id;
  if (Array.isArray(id) && id.length > 0) return String(id[id.length - 1]);
  return (serialized as { name?: string }).name ?? null;
}

/** Token usage of one model call: the message's usage_metadata, else the provider's llmOutput. */
export function usageOf(output: LLMResult): TokenUsage | null {
  let input = 0;
  let out = 0;
  let found = false;
  for (const generation of output.generations.flat()) {
    const usage = (generation as { message?: { usage_metadata?: Partial<TokenUsage> } }).message?.usage_metadata;
    if (usage) {
      found = true;
      input += usage.input_tokens ?? 0;
      out += usage.output_tokens ?? 0;
    }
  }
  if (!found) {
    const legacy = (output.llmOutput as { tokenUsage?: { promptTokens?: number; completionTokens?: number } } | undefined)?.tokenUsage;
    if (!legacy) return null;
    input = legacy.promptTokens ?? 0;
    out = legacy.completionTokens ?? 0;
  }
  return { input_tokens: input, output_tokens: out, total_tokens: input + out };
}

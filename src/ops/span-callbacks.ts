import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Serialized } from "@langchain/core/load/serializable";
import { SpanStatusCode, trace, type Context, type Span } from "@opentelemetry/api";
import { tracer } from "./tracing.js";

/**
 * One span per graph node and per model and tool call of a run, from LangChain's callbacks, each
 * a child of its nearest traced ancestor (a node's model call under the node, the nodes under the
 * run's span). LangGraph's own plumbing (channel writes, routers) gets no span.
 */
export class SpanCallbacks extends BaseCallbackHandler {
  readonly name = "runbus-spans";
  private readonly spans = new Map<string, Span>();
  /** Each LangChain run's parent, to find the nearest traced ancestor of untraced ones. */
  private readonly parents = new Map<string, string | undefined>();

  constructor(private readonly runContext: Context) {
    super();
  }

  override handleChainStart(
    _chain: Serialized,
    _inputs: unknown,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    _runType?: string,
    runName?: string,
  ): void {
    this.parents.set(runId, parentRunId);
    const node = metadata?.langgraph_node;
    // A node's own run is named after it; its inner runnables are not. LangGraph's __start__ is plumbing.
    if (typeof node === "string" && runName === node && !node.startsWith("__")) this.start(runId, parentRunId, `node ${node}`, { "langgraph.node": node, "langgraph.step": Number(metadata?.langgraph_step ?? -1) });
  }

  override handleChainEnd(_outputs: unknown, runId: string): void {
    this.end(runId);
  }

  override handleChainError(error: Error, runId: string): void {
    this.end(runId, error);
  }

  override handleChatModelStart(llm: Serialized, _messages: unknown[][], runId: string, parentRunId?: string): void {
    this.parents.set(runId, parentRunId);
    this.start(runId, parentRunId, `model ${nameOf(llm)}`, { "gen_ai.request.model": nameOf(llm) });
  }

  override handleLLMStart(llm: Serialized, _prompts: string[], runId: string, parentRunId?: string): void {
    this.parents.set(runId, parentRunId);
    this.start(runId, parentRunId, `model ${nameOf(llm)}`, { "gen_ai.request.model": nameOf(llm) });
  }

  override handleLLMEnd(_output: unknown, runId: string): void {
    this.end(runId);
  }

  override handleLLMError(error: Error, runId: string): void {
    this.end(runId, error);
  }

  override handleToolStart(tool: Serialized, _input: string, runId: string, parentRunId?: string, _tags?: string[], _metadata?: Record<string, unknown>, runName?: string): void {
    this.parents.set(runId, parentRunId);
    const name = runName ?? nameOf(tool);
    this.start(runId, parentRunId, `tool ${name}`, { "gen_ai.tool.name": name });
  }

  override handleToolEnd(_output: unknown, runId: string): void {
    this.end(runId);
  }

  override handleToolError(error: Error, runId: string): void {
    this.end(runId, error);
  }

  private start(runId: string, parentRunId: string | undefined, name: string, attributes: Record<string, string | number>): void {
    const span = tracer().startSpan(name, { attributes }, this.parentContext(parentRunId));
    this.spans.set(runId, span);
  }

  private parentContext(parentRunId: string | undefined): Context {
    for (let id = parentRunId; id !== undefined; id = this.parents.get(id)) {
      const span = this.spans.get(id);
      if (span) return trace.setSpan(this.runContext, span);
    }
    return this.runContext;
  }

  private end(runId: string, error?: Error): void {
    const span = this.spans.get(runId);
    this.parents.delete(runId);
    if (!span) return;
    this.spans.delete(runId);
    // A graph paused by interrupt() ends its node with an error that is not a failure.
    if (error && error.name !== "GraphInterrupt") {
      span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    }
    span.end();
  }
}

function nameOf(serialized: Serialized): string {
  const id = (serialized as { id?: unknown }).id;
  if (Array.isArray(id) && id.length > 0) return String(id[id.length - 1]);
  return (serialized as { name?: string }).name ?? "unknown";
}

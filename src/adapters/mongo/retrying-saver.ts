import type { RunnableConfig } from "@langchain/core/runnables";
import { MongoDBSaver, type MongoDBSaverParams } from "@langchain/langgraph-checkpoint-mongodb";
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { MongoNetworkError, MongoServerSelectionError } from "mongodb";
import { RunbusError, messageOf } from "../../errors.js";

export interface RetryPolicy {
  /** How long one operation may keep retrying before the run fails. */
  budgetMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { budgetMs: 30_000, initialDelayMs: 100, maxDelayMs: 2000 };

/** Errors of a connection or a server that went away, not of the operation itself. */
export function isTransientMongoError(error: unknown): boolean {
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) return true;
  const labels = (error as { errorLabels?: unknown } | null)?.errorLabels;
  if (Array.isArray(labels) && (labels.includes("RetryableWriteError") || labels.includes("TransientTransactionError"))) return true;
  return /ECONNRESET|ECONNREFUSED|EPIPE|connection .*closed|socket .*closed|Topology is closed|not primary/i.test(messageOf(error));
}

/**
 * LangGraph's MongoDB checkpointer with its reads and writes retried with backoff while the server
 * is unreachable (a restart, a failover). Checkpoints and writes are upserts keyed by their ids,
 * so doing one again is safe; the driver's own retryable writes are not available on every
 * MongoDB-compatible server. When the budget runs out the run fails with a clear error.
 */
export class RetryingMongoDBSaver extends MongoDBSaver {
  constructor(
    params: MongoDBSaverParams,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {
    super(params);
  }

  override getTuple(...args: Parameters<MongoDBSaver["getTuple"]>): Promise<CheckpointTuple | undefined> {
    return this.withRetry("read a checkpoint", () => super.getTuple(...args));
  }

  override put(...args: Parameters<MongoDBSaver["put"]>): Promise<RunnableConfig> {
    return this.withRetry("write a checkpoint", () => super.put(...args));
  }

  override putWrites(...args: Parameters<MongoDBSaver["putWrites"]>): Promise<void> {
    return this.withRetry("write pending writes", () => super.putWrites(...args));
  }

  override deleteThread(threadId: string): Promise<void> {
    return this.withRetry("delete a thread's checkpoints", () => super.deleteThread(threadId));
  }

  private async withRetry<T>(what: string, operation: () => Promise<T>): Promise<T> {
    const started = Date.now();
    let delay = this.retry.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (!isTransientMongoError(error)) throw error;
        const elapsed = Date.now() - started;
        if (elapsed + delay > this.retry.budgetMs) {
          throw new RunbusError(
            "mongodb_unreachable",
            `Could not ${what}: the MongoDB server stayed unreachable for ${elapsed} ms over ${attempt} attempts (${messageOf(error)}).`,
            { retryable: true, cause: error },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(this.retry.maxDelayMs, delay * 2);
      }
    }
  }
}

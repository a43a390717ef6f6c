import { isRunbusError, messageOf } from "./errors.js";
import type { Logger } from "./logger.js";

export interface WaitOptions {
  logger: Logger;
  /** Stops waiting (e.g. on SIGTERM): the last error is thrown. */
  signal?: AbortSignal;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Retries `attempt` with exponential backoff until it succeeds, logging one clear line per
 * failure: a worker started while its broker or database is down waits for them. A RunbusError
 * that is not retryable (config_invalid, store_not_atomic) ends the wait at once.
 */
export async function waitUntilReady<T>(what: string, attempt: () => Promise<T>, options: WaitOptions): Promise<T> {
  let delay = options.initialDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 10_000;
  for (let tries = 1; ; tries++) {
    try {
      const result = await attempt();
      if (tries > 1) options.logger.info({ what, tries }, `${what} is available`);
      return result;
    } catch (error) {
      // Waiting cannot mend a bad setting or an unsupported server.
      if (options.signal?.aborted || (isRunbusError(error) && !error.retryable)) throw error;
      options.logger.warn({ what, tries, retryInMs: delay, err: messageOf(error) }, `waiting for ${what}: ${messageOf(error)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        options.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
      if (options.signal?.aborted) throw error;
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}

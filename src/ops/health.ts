import { monitorEventLoopDelay } from "node:perf_hooks";
import { messageOf } from "../errors.js";

/** One health condition: null when it holds, else the reason it does not. */
export interface Check {
  readonly name: string;
  run(): Promise<string | null>;
}

export interface CheckReport {
  ok: boolean;
  checks: Array<{ name: string; ok: boolean; reason?: string }>;
}

/** Runs every check; the report is ok only when all hold. A check that throws fails with its message. */
export async function evaluate(checks: readonly Check[]): Promise<CheckReport> {
  const results = await Promise.all(
    checks.map(async (check) => {
      const reason = await check.run().catch((error: unknown) => messageOf(error));
      return reason === null ? { name: check.name, ok: true } : { name: check.name, ok: false, reason };
    }),
  );
  return { ok: results.every((r) => r.ok), checks: results };
}

/**
 * The event loop's longest delay since the last look: a process whose loop is blocked for
 * seconds (a synchronous hot loop, a stuck native call) answers slowly or not at all.
 */
export function eventLoopLag(thresholdMs: number): Check & { stop(): void } {
  const histogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  return {
    name: "event_loop_lag",
    async run() {
      const maxMs = histogram.max / 1e6;
      histogram.reset();
      return maxMs > thresholdMs ? `the event loop was blocked for ${Math.round(maxMs)} ms (threshold ${thresholdMs} ms)` : null;
    },
    stop: () => histogram.disable(),
  };
}

/** Holds while `lastAt()` is within `thresholdMs` of now (or unknown yet). */
export function recentEnough(name: string, what: string, lastAt: () => number | null, thresholdMs: number): Check {
  return {
    name,
    async run() {
      const at = lastAt();
      if (at === null) return null;
      const ageMs = Date.now() - at;
      return ageMs > thresholdMs ? `${what} ${Math.round(ageMs / 1000)} s ago (threshold ${Math.round(thresholdMs / 1000)} s)` : null;
    },
  };
}

/** Holds when `probe` resolves within `timeoutMs`. */
export function answers(name: string, probe: () => Promise<unknown>, timeoutMs = 2000): Check {
  return {
    name,
    async run() {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs)));
      try {
        return await Promise.race([probe().then(() => null), late]);
      } catch (error) {
        return messageOf(error);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Holds while `holds()` is true; `reason` says what is wrong otherwise. */
export function condition(name: string, holds: () => boolean, reason: string): Check {
  return { name, run: async () => (holds() ? null : reason) };
}

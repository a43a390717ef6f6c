/**
 * Closed-loop load: `concurrency` slots, each running one run after another on a fresh thread.
 * The measured window opens once the warm-up time has passed and every slot has finished a run
 * (steady state even when one run takes longer than the warm-up); throughput is the runs that
 * finished inside the window divided by its length, and each of them is a sample.
 */
import { round, summarize, type Summary } from "./stats.js";

export interface LoadResult {
  concurrency: number;
  windowMs: number;
  completed: number;
  failed: number;
  runsPerSecond: number;
  runMs: Summary;
  /** Raw: each measured run's duration (ms) and its finish time within the window (ms). */
  samples: Array<[durationMs: number, finishedAtMs: number]>;
  errors: string[];
}

export async function closedLoop(options: {
  concurrency: number;
  warmupMs: number;
  windowMs: number;
  /** One run, start to finish; `slot` and `seq` make ids unique. */
  runOnce: (slot: number, seq: number) => Promise<void>;
  /**
   * false: return when the window closes, without waiting for the runs still in flight (for the
   * last load on a worker or store that is torn down next: its shutdown ends them).
   */
  drain?: boolean;
  /** Told of each run that counts as a sample (finished inside the window), for figures of its own. */
  measured?: (slot: number, seq: number) => void;
  /** Told when the window opens and when it closes (to meter the window alone). */
  window?: { opened(): void; closed(): void };
}): Promise<LoadResult> {
  const { concurrency, warmupMs, windowMs } = options;
  const start = performance.now();
  let windowStart = Infinity;
  let windowEnd = Infinity;
  const samples: Array<[number, number]> = [];
  const errors: string[] = [];
  let failed = 0;
  const slotsWarm = new Set<number>();
  let warm!: () => void;
  const allWarm = new Promise<void>((resolve) => (warm = resolve));
  const slot = async (index: number) => {
    for (let seq = 0; performance.now() < windowEnd; seq++) {
      const t0 = performance.now();
      try {
        await options.runOnce(index, seq);
      } catch (error) {
        if (performance.now() > windowEnd) return;
        failed += 1;
        if (errors.length < 10) errors.push(error instanceof Error ? error.message : String(error));
        continue;
      }
      const t1 = performance.now();
      slotsWarm.add(index);
      if (slotsWarm.size === concurrency) warm();
      if (t1 >= windowStart && t1 <= windowEnd) {
        samples.push([round(t1 - t0), round(t1 - windowStart)]);
        options.measured?.(index, seq);
      }
    }
  };
  const slots = Promise.all(Array.from({ length: concurrency }, (_, i) => slot(i)));
  // A loop whose runs all fail never warms up; measure it anyway (its failures are reported).
  await Promise.race([allWarm, sleep(warmupMs + 120_000)]);
  await sleep(Math.max(0, start + warmupMs - performance.now()));
  windowStart = performance.now();
  windowEnd = windowStart + windowMs;
  options.window?.opened();
  const closed = sleep(windowMs).then(() => options.window?.closed());
  if (options.drain === false) await sleep(windowMs);
  else await slots;
  await closed;
  return {
    concurrency,
    windowMs,
    completed: samples.length,
    failed,
    runsPerSecond: round(samples.length / (windowMs / 1000)),
    runMs: summarize(samples.map(([d]) => d)),
    samples,
    errors,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

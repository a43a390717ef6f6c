/**
 * The chaos scenario's killer: once runs are running, it SIGKILLs a worker every `everyMs` (the
 * one running the most runs, ties at random) and starts a replacement with a new id at once,
 * until `endAt`. Kills keep to their schedule whether or not a worker is busy at that moment: on a
 * fast store runs are short, and a killer that waited for a busy worker would hardly ever kill.
 */
import type { WorkerFleet, WorkerProcess } from "./worker-fleet.js";

export interface KillerOptions {
  fleet: WorkerFleet;
  everyMs: number;
  /** No kill at or after this time. */
  endAt: number;
  /** Resolves when the first run was admitted: the schedule starts there. */
  runsStarted: Promise<void>;
  /** Log times are counted from here (the start of the load). */
  since: number;
  /** Running runs per worker id, as the store has them now. */
  runningByWorker: () => Promise<Map<string, number>>;
  rand: () => number;
  log: (line: string) => void;
}

export interface Killer {
  /** Settles when the killer is through; rejects when a kill or a replacement failed. */
  done: Promise<void>;
  /** When the schedule started (the first run admitted); null until then. */
  readonly startedAt: number | null;
  stop(): void;
}

/** Waits in short slices, so a stop is seen soon. */
async function waitUntil(at: number, stopped: () => boolean): Promise<void> {
  while (!stopped() && Date.now() < at) await new Promise((resolve) => setTimeout(resolve, Math.min(250, at - Date.now())));
}

export function startKiller(options: KillerOptions): Killer {
  const { fleet, everyMs, endAt, runsStarted, since, runningByWorker, rand, log } = options;
  let stopped = false;
  let startedAt: number | null = null;
  const over = () => stopped || Date.now() >= endAt;
  // Started workers; a killed one's replacement counts once it has logged "worker started".
  const started = (): WorkerProcess[] => fleet.live.filter((worker) => worker.readyAt !== null);

  const done = (async () => {
    // A kill before any run runs would leave nothing to take over.
    let admitted = false;
    void runsStarted.then(() => (admitted = true));
    while (!over() && !admitted) await waitUntil(Date.now() + 100, over);
    if (over()) return;
    startedAt = Date.now();
    let next = startedAt + everyMs;
    for (;;) {
      await waitUntil(next, over);
      // Some started worker must live on to take the victim's runs over. A replacement starts only
      // once the consumer group has dropped the killed member (its session timeout) and the broker
      // is up, so after two quick kills the next one waits for a replacement.
      while (!over() && started().length < 2) await waitUntil(Date.now() + 100, over);
      if (over()) return;
      const load = await runningByWorker();
      const candidates = started();
      const busiest = Math.max(...candidates.map((worker) => load.get(worker.id) ?? 0));
      const pool = candidates.filter((worker) => (load.get(worker.id) ?? 0) === busiest);
      const victim = pool[Math.floor(rand() * pool.length)]!;
      await fleet.kill(victim);
      const replacement = fleet.spawn();
      log(
        `+${Date.now() - since} ms: killed ${victim.id} (pid ${victim.pid}, ${busiest} runs running; due at +${next - since} ms); ` +
          `started ${replacement.id} (pid ${replacement.pid})`,
      );
      // The next kill keeps to the schedule: a kill that had to wait does not push the later ones back.
      do next += everyMs;
      while (next <= Date.now());
    }
  })();
  return {
    done,
    get startedAt() {
      return startedAt;
    },
    stop: () => {
      stopped = true;
    },
  };
}

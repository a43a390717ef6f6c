import { abortOnSignal, checkId, withClient } from "./context.js";
import { followRun } from "./follow.js";

export interface WatchOptions {
  fromSeq?: number;
}

/**
 * `runbus watch <run_id>`: replays a run's stream from `--from-seq` (default 0), then follows it
 * until `end`. A seq still missing RUNBUS_STREAM_GAP_TIMEOUT_MS after a later one arrived ends it
 * with a `stream_gap` error (exit 1) instead of a wait that never ends.
 */
export async function watchCommand(runId: string, options: WatchOptions): Promise<number> {
  checkId("run", runId);
  return withClient("watch", async (client) => {
    const interrupt = abortOnSignal();
    try {
      return await followRun(client, runId, { signal: interrupt.signal, ...(options.fromSeq ? { fromSeq: options.fromSeq } : {}) });
    } finally {
      interrupt.dispose();
    }
  });
}

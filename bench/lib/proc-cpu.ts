/**
 * CPU time of processes by pid (Linux /proc/<pid>/stat: user + system), to say which process a
 * load's CPU went to on a machine whose cores every process shares.
 */
import { readFileSync } from "node:fs";
import { round } from "./stats.js";

/** Clock ticks per second of /proc's times (USER_HZ; 100 on Linux everywhere that matters). */
const TICKS_PER_S = 100;

/** User + system CPU ms of `pid` so far; null when it cannot be read (not Linux, process gone). */
export function cpuMsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start past its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / TICKS_PER_S : null;
  } catch {
    return null;
  }
}

export interface CpuUse {
  /** CPU ms over the interval, by process name. */
  ms: Record<string, number>;
  wallMs: number;
}

/** Starts counting now; `stop()` gives each process's CPU ms since. */
export function cpuMeter(pids: Record<string, number | undefined>): { stop(): CpuUse } {
  const t0 = performance.now();
  const start = Object.fromEntries(Object.entries(pids).flatMap(([name, pid]) => (pid === undefined ? [] : [[name, { pid, ms: cpuMsOf(pid) }]])));
  return {
    stop: () => {
      const ms: Record<string, number> = {};
      for (const [name, { pid, ms: before }] of Object.entries(start)) {
        const after = cpuMsOf(pid);
        if (before !== null && after !== null) ms[name] = round(after - before, 0);
      }
      return { ms, wallMs: round(performance.now() - t0, 0) };
    },
  };
}

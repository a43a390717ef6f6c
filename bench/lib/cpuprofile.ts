/** Reads a V8 .cpuprofile (node --cpu-prof) and says where the CPU time went, by package. */
import { readFileSync } from "node:fs";
import { round } from "./stats.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  /** Share of the wall time the main thread was idle (waiting on I/O). */
  idleShare: number;
  /** Self time by category, ms and share of busy time, largest first. */
  busy: Array<{ category: string; ms: number; share: number }>;
  /** The hottest functions by self time. */
  topFunctions: Array<{ fn: string; category: string; ms: number }>;
}

/** node_modules/@scope/name → @scope/name; src/x/y.ts → runbus src/x; node:internal → node. */
export function categoryOf(url: string, functionName: string): string {
  if (functionName === "(idle)") return "(idle)";
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(program)") return "(program: V8/native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? "node_modules");
  }
  const src = url.indexOf("/src/");
  if (src >= 0) return `runbus ${url.slice(src + 1).split("/").slice(0, 2).join("/").replace(/\.ts$/, "")}`;
  if (url.includes("/bench/")) return "bench harness";
  if (url.startsWith("node:") || url === "") return "node core / native";
  return "other";
}

/** `window`: profiler-clock µs (process.hrtime in µs) to keep; the rest (start-up, shutdown) is cut. */
export function summarizeProfile(file: string, window: { fromUs?: number; toUs?: number } = {}, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const from = window.fromUs ?? -Infinity;
  const to = window.toUs ?? Infinity;
  let at = profile.startTime;
  let first = Infinity;
  let last = -Infinity;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < from || at > to) return;
    first = Math.min(first, at - delta);
    last = Math.max(last, at);
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const categories = new Map<string, number>();
  const functions = new Map<string, { category: string; us: number }>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const category = categoryOf(url, functionName);
    categories.set(category, (categories.get(category) ?? 0) + us);
    const fnKey = `${functionName || "(anonymous)"} ${url.replace(/^.*node_modules\//, "").replace(/^.*\/(src|bench)\//, "$1/")}:${lineNumber + 1}`;
    const f = functions.get(fnKey) ?? { category, us: 0 };
    f.us += us;
    functions.set(fnKey, f);
  }
  const wallUs = Number.isFinite(first) ? last - first : 0;
  const idleUs = categories.get("(idle)") ?? 0;
  categories.delete("(idle)");
  const busyUs = [...categories.values()].reduce((a, b) => a + b, 0) || 1;
  return {
    file,
    wallMs: round(wallUs / 1000),
    idleShare: round(idleUs / (wallUs || 1), 3),
    busy: [...categories]
      .sort((a, b) => b[1] - a[1])
      .map(([category, us]) => ({ category, ms: round(us / 1000), share: round(us / busyUs, 3) })),
    topFunctions: [...functions]
      .filter(([, f]) => f.category !== "(idle)")
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([fn, f]) => ({ fn, category: f.category, ms: round(f.us / 1000) })),
  };
}

/** Section 10 of docs/benchmarks.md and its summary rows, from bench/results/scale-out.json (bench/scale-out.ts). */
import type { ScaleCell, ScaleOutSummary } from "../scale-out.js";
import type { Headline, Results } from "./headlines.js";

export const SCALE_OUT_HEADING = "## 10. Scale-out";

const n = (v: number | null | undefined): string => (typeof v === "number" && Number.isFinite(v) ? String(v) : "—");
const x = (v: number | null | undefined): string => (typeof v === "number" ? `×${v}` : "—");

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export function scaleOutHeadlines(results: Results): Headline[] {
  const s = results["scale-out"]?.summary as ScaleOutSummary | undefined;
  if (!s) return [];
  const one = s.cells[0];
  return s.cells.flatMap((cell) => [
    {
      benchmark: "scale-out",
      figure: `runs/s, ${cell.workers} worker(s), ${s.concurrency} threads`,
      runbus: cell.runs_per_s,
      baseline: one?.runs_per_s ?? null,
      baselineName: "1 worker",
      unit: "runs/s",
      ratio: s.scaling.find((row) => row.workers === cell.workers)?.runs_per_s_ratio ?? null,
      target: "stated",
      pass: null,
    },
    {
      benchmark: "scale-out",
      figure: `system CPU per run (workers + Kafka + store), ${cell.workers} worker(s)`,
      runbus: cell.cpu_ms_per_run.system ?? null,
      baseline: s.baseline.cpu_ms_per_run.system ?? null,
      baselineName: "in-process (its process + store)",
      unit: "ms",
      ratio: s.scaling.find((row) => row.workers === cell.workers)?.system_cpu_per_run_vs_baseline ?? null,
      target: "stated",
      pass: null,
    },
  ]);
}

export function scaleOutSection(results: Results): string[] {
  const result = results["scale-out"];
  const s = result?.summary as ScaleOutSummary | undefined;
  if (!result || !s) return [SCALE_OUT_HEADING, "", "_Not measured._", ""];
  const cpu = (cell: Pick<ScaleCell, "cpu_ms_per_run">, name: string) => n(cell.cpu_ms_per_run[name]);
  const rows = [
    ["in-process baseline", `${n(s.baseline.runs_per_s)} (${s.baseline.runs_per_s_passes.join(", ")})`, n(s.baseline.run_p50_ms), "—", "—", "—", cpu(s.baseline, "mongodb"), "—", cpu(s.baseline, "baseline"), cpu(s.baseline, "system"), "—", String(s.baseline.failed)],
    ...s.cells.map((cell) => {
      const scaling = s.scaling.find((row) => row.workers === cell.workers);
      return [
        `${cell.workers} worker(s)`,
        `${n(cell.runs_per_s)} (${cell.runs_per_s_passes.join(", ")})`,
        n(cell.run_p50_ms),
        x(scaling?.runs_per_s_ratio),
        cpu(cell, "worker"),
        cpu(cell, "kafka"),
        cpu(cell, "mongodb"),
        cpu(cell, "driver"),
        "—",
        cpu(cell, "system"),
        `${x(scaling?.system_cpu_per_run_ratio)} / ${x(scaling?.system_cpu_per_run_vs_baseline)}`,
        String(cell.failed),
      ];
    }),
  ];
  const last = s.cells.at(-1);
  const lastScaling = s.scaling.at(-1);
  return [
    SCALE_OUT_HEADING,
    "",
    `1, 2 and 3 worker processes on the same Kafka and store server, sharing one set of topics and one database: the command topic is split between them by their consumer group. A closed loop of ${s.concurrency} threads of the two-node graph (shared event topic), after a warm-up; every load twice, in the order baseline, 1, 2, 3, 3, 2, 1 workers, baseline, so servers that warm up or a machine that slows down weigh on every load alike, and the figures are of both passes together. CPU: each process's user + system time from /proc over the window (not the warm-up, which holds each fresh worker's start), per run finished in it; **system** is the workers, the broker and the store server together, all the work a run causes wherever it lands. The driver (the benchmark's own process: the Kafka client that sends the commands and reads the events, and the reaper) is shown beside it. Baseline: \`graph.invoke\` with MongoDBSaver on the same store server, in the benchmark's process, at the same concurrency: its process and the store server.`,
    "",
    table(
      ["load", "runs/s (each pass)", "run p50 ms", "runs/s × 1 worker", "workers CPU ms/run", "Kafka", "store", "driver", "in-process", "system CPU ms/run", "system × 1 worker / × baseline", "failed"],
      rows,
    ),
    "",
    ...(last
      ? [
          `Each worker's share of the workers' CPU: ${s.cells.map((cell) => `${cell.workers} worker(s): ${cell.worker_cpu_share.map((share) => `${Math.round(share * 100)}%`).join(" / ")}`).join("; ")}.`,
          "",
          `How to read it: every process shares the same 2 cores, so runs/s stays capped by the machine whatever the count of workers; what more workers cost is the system CPU per run, ${x(lastScaling?.system_cpu_per_run_ratio)} at ${last.workers} workers of 1 worker's (${n(last.cpu_ms_per_run.system)} against ${n(s.cells[0]?.cpu_ms_per_run.system)} ms): their consumer group's heartbeats and fetches, each worker's lease renewals, sweeps and topic metadata, spread over fewer runs each. On machines with cores to spare the workers' runs/s adds up to where the broker or the store server is the limit.`,
          "",
        ]
      : []),
  ];
}

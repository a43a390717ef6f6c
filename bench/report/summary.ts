/** The summary table printed at the end of `npm run bench`. */
import { headlines, type Headline, type Results } from "./headlines.js";

export const HEADLINE_HEADER = ["benchmark", "figure", "runbus", "baseline (same run)", "ratio", "target", ""];

/** One headline as table cells; `verdict` renders whether its target was met. */
export function headlineCells(h: Headline, verdict: (pass: boolean) => string): string[] {
  return [
    h.benchmark,
    h.figure,
    h.runbus === null ? "—" : `${h.runbus} ${h.unit}`,
    h.baseline === null ? "—" : `${h.baseline} ${h.unit} (${h.baselineName})`,
    h.ratio === null ? "—" : `×${h.ratio}`,
    h.target,
    h.pass === null ? "" : verdict(h.pass),
  ];
}

export function summaryTable(results: Results): string {
  const rows = headlines(results).map((h) => headlineCells(h, (pass) => (pass ? "PASS" : "MISS")));
  const header = HEADLINE_HEADER;
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

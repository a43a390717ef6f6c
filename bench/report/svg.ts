/** Small hand-written SVG charts: grouped horizontal bars, and a log-scale target scorecard. */

export interface Bar {
  label: string;
  value: number | null;
  color: string;
}

export interface BarGroup {
  label: string;
  bars: Bar[];
}

const FONT = `font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"`;

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function fmt(value: number): string {
  if (value >= 100) return String(Math.round(value));
  if (value >= 10) return value.toFixed(1).replace(/\.0$/, "");
  return value.toFixed(2).replace(/0$/, "").replace(/\.0$/, "");
}

/** Ticks at 1, 2, 5 × 10^k covering [0, max]. */
function niceMax(max: number): { top: number; step: number } {
  const raw = max / 5;
  const pow = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  return { top: Math.ceil(max / step) * step || step, step };
}

export function groupedBars(options: { title: string; subtitle?: string; unit: string; groups: BarGroup[]; width?: number }): string {
  const width = options.width ?? 760;
  const labelW = 120;
  const right = 70;
  const barH = 16;
  const gap = 4;
  const groupGap = 18;
  const legendNames = [...new Map(options.groups.flatMap((g) => g.bars.map((b) => [b.label, b.color] as const))).entries()];
  const top = options.subtitle ? 62 : 46;
  const legendH = 22 * Math.ceil(legendNames.length / 3);
  const plotW = width - labelW - right;
  const max = Math.max(1e-9, ...options.groups.flatMap((g) => g.bars.map((b) => b.value ?? 0)));
  const { top: axisMax, step } = niceMax(max);
  const x = (v: number) => labelW + (v / axisMax) * plotW;
  const parts: string[] = [];
  let y = top;
  for (const group of options.groups) {
    const groupH = group.bars.length * (barH + gap) - gap;
    parts.push(`<text x="${labelW - 10}" y="${y + groupH / 2 + 5}" text-anchor="end" font-size="13" font-weight="600" fill="#222">${esc(group.label)}</text>`);
    for (const bar of group.bars) {
      if (bar.value !== null && Number.isFinite(bar.value)) {
        const w = Math.max(1, x(bar.value) - labelW);
        parts.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" rx="2" fill="${bar.color}"><title>${esc(bar.label)}: ${fmt(bar.value)} ${esc(options.unit)}</title></rect>`);
        parts.push(`<text x="${(labelW + w + 5).toFixed(1)}" y="${y + barH - 4}" font-size="11" fill="#333">${fmt(bar.value)}</text>`);
      } else {
        parts.push(`<text x="${labelW + 4}" y="${y + barH - 4}" font-size="11" fill="#999">not measured</text>`);
      }
      y += barH + gap;
    }
    y += groupGap - gap;
  }
  const plotBottom = y - groupGap + gap + 6;
  const axis: string[] = [];
  for (let v = 0; v <= axisMax + 1e-9; v += step) {
    axis.push(`<line x1="${x(v).toFixed(1)}" y1="${top - 6}" x2="${x(v).toFixed(1)}" y2="${plotBottom}" stroke="#e5e5e5"/>`);
    axis.push(`<text x="${x(v).toFixed(1)}" y="${plotBottom + 14}" text-anchor="middle" font-size="10" fill="#777">${fmt(v)}</text>`);
  }
  axis.push(`<text x="${labelW + plotW / 2}" y="${plotBottom + 30}" text-anchor="middle" font-size="11" fill="#555">${esc(options.unit)}</text>`);
  const legendY = plotBottom + 44;
  const legend = legendNames.map(([name, color], i) => {
    const lx = 20 + (i % 3) * ((width - 40) / 3);
    const ly = legendY + Math.floor(i / 3) * 22;
    return `<rect x="${lx}" y="${ly}" width="12" height="12" rx="2" fill="${color}"/><text x="${lx + 18}" y="${ly + 10}" font-size="12" fill="#333">${esc(name)}</text>`;
  });
  const height = legendY + legendH + 8;
  return svgDocument(width, height, options, [...axis, ...parts, ...legend]);
}

export interface ScoreRow {
  label: string;
  /** How the measured figure stands to its target: > 1 meets it with room, < 1 misses by that factor. */
  score: number | null;
  detail: string;
}

/** One row per target on a log axis centred on the target line: green right of it, red left. */
export function scorecard(options: { title: string; subtitle?: string; rows: ScoreRow[]; width?: number }): string {
  const width = options.width ?? 760;
  const labelW = 300;
  const right = 170;
  const rowH = 26;
  const top = options.subtitle ? 66 : 50;
  const plotW = width - labelW - right;
  const lo = Math.log10(0.05);
  const hi = Math.log10(50);
  const x = (score: number) => labelW + ((Math.log10(Math.min(50, Math.max(0.05, score))) - lo) / (hi - lo)) * plotW;
  const one = x(1);
  const parts: string[] = [];
  options.rows.forEach((row, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${labelW - 10}" y="${y + 14}" text-anchor="end" font-size="12" fill="#222">${esc(row.label)}</text>`);
    if (row.score === null || !Number.isFinite(row.score)) {
      parts.push(`<text x="${one + 6}" y="${y + 14}" font-size="11" fill="#999">not measured</text>`);
      return;
    }
    const pass = row.score >= 1;
    const x1 = Math.min(one, x(row.score));
    const w = Math.max(2, Math.abs(x(row.score) - one));
    parts.push(`<rect x="${x1.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="16" rx="2" fill="${pass ? "#2e9d5b" : "#d1495b"}"><title>${esc(row.detail)}</title></rect>`);
    parts.push(`<text x="${labelW + plotW + 8}" y="${y + 15}" font-size="11" fill="${pass ? "#1d6b3d" : "#a12c3c"}">${pass ? "PASS" : "MISS"} · ${esc(row.detail)}</text>`);
  });
  const bottom = top + options.rows.length * rowH + 4;
  const axis: string[] = [];
  for (const t of [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50]) {
    axis.push(`<line x1="${x(t).toFixed(1)}" y1="${top - 6}" x2="${x(t).toFixed(1)}" y2="${bottom}" stroke="${t === 1 ? "#333" : "#eee"}" stroke-width="${t === 1 ? 1.5 : 1}"/>`);
    axis.push(`<text x="${x(t).toFixed(1)}" y="${bottom + 14}" text-anchor="middle" font-size="10" fill="#777">${t}×</text>`);
  }
  axis.push(`<text x="${one}" y="${top - 10}" text-anchor="middle" font-size="10" fill="#333">target</text>`);
  axis.push(`<text x="${labelW + plotW / 2}" y="${bottom + 30}" text-anchor="middle" font-size="11" fill="#555">factor by which the target is met (right) or missed (left), log scale</text>`);
  const height = bottom + 42;
  return svgDocument(width, height, options, [...axis, ...parts]);
}

/** A white chart of `width` × `height` with its title and subtitle, around `body`. */
function svgDocument(width: number, height: number, options: { title: string; subtitle?: string }, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="20" y="26" font-size="16" font-weight="700" fill="#111">${esc(options.title)}</text>`,
    options.subtitle ? `<text x="20" y="46" font-size="12" fill="#666">${esc(options.subtitle)}</text>` : "",
    ...body,
    `</svg>`,
  ].join("\n");
}

/**
 * Inline SVG charts for the HTML report, drawn as strings (no library, no script, no
 * network): small multiples of horizontal bars (one panel per phase, each with its own
 * axis, so milliseconds and seconds both read), and a line chart. Every chart has a
 * `<title>`, a visible title, a legend and labelled axes.
 */

export interface Series {
  readonly key: string;
  readonly label: string;
  readonly color: string;
}

export interface BarValue {
  readonly median: number;
  readonly min?: number;
  readonly max?: number;
  readonly n?: number;
}

export interface Panel {
  readonly title: string;
  /** What the axis measures, e.g. `time`; the unit is appended. */
  readonly axis: string;
  /** One value per series key; missing: "n/a". */
  readonly values: Readonly<Record<string, BarValue | undefined>>;
  /** Chooses the unit from the largest value: `{ scale, unit, format }`. */
  readonly unit: (max: number) => Unit;
}

export interface Unit {
  /** Values are divided by this before drawing. */
  readonly scale: number;
  readonly unit: string;
  readonly format: (value: number) => string;
}

export function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"';

/** 1, 2, 5 x 10^k steps giving about `count` ticks up to at least `max`. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** A legend of colored swatches, wrapped to `width`; returns the SVG and its height. */
function legend(
  series: readonly Series[],
  width: number,
  y0: number,
): { svg: string; height: number } {
  let x = 0;
  let y = y0;
  const parts: string[] = [];
  for (const s of series) {
    const w = 24 + s.label.length * 7;
    if (x > 0 && x + w > width) {
      x = 0;
      y += 20;
    }
    parts.push(
      `<g class="legend-item"><rect x="${x}" y="${y - 10}" width="12" height="12" fill="${s.color}"/>` +
        `<text x="${x + 16}" y="${y}" font-size="12">${esc(s.label)}</text></g>`,
    );
    x += w + 12;
  }
  return { svg: `<g class="legend">${parts.join('')}</g>`, height: y - y0 + 20 };
}

const PANEL_W = 280;
const GAP_X = 24;
const BAR_H = 14;
const BAR_GAP = 5;
const LABEL_W = 0;

/**
 * A chart of panels (one per phase), each a horizontal bar per series with a min-max
 * whisker and the value at its end.
 */
export function panelChart(options: {
  readonly id: string;
  readonly title: string;
  readonly series: readonly Series[];
  readonly panels: readonly Panel[];
  readonly columns?: number;
  /** A line under the title (default: how to read bars and whiskers). */
  readonly note?: string;
}): string {
  const cols = Math.max(1, Math.min(options.columns ?? 4, options.panels.length));
  const width = cols * PANEL_W + (cols - 1) * GAP_X;
  const top = legend(options.series, width, 64);
  const barsH = options.series.length * (BAR_H + BAR_GAP);
  const panelH = 24 + barsH + 44;
  const rows = Math.ceil(options.panels.length / cols);
  const y0 = 64 + top.height + 8;
  const height = y0 + rows * (panelH + 16);
  const panels = options.panels.map((p, i) => {
    const x = (i % cols) * (PANEL_W + GAP_X);
    const y = y0 + Math.floor(i / cols) * (panelH + 16);
    return `<g class="panel" transform="translate(${x},${y})">${panel(p, options.series)}</g>`;
  });
  const note =
    options.note ?? 'bars: median; whiskers: min-max over the runs; each panel has its own axis';
  return chartSvg({ ...options, width, height, note }, top.svg + panels.join(''));
}

function panel(p: Panel, series: readonly Series[]): string {
  const plotX = LABEL_W + 4;
  const plotW = PANEL_W - plotX - 64;
  const present = series.map((s) => p.values[s.key]).filter((v): v is BarValue => v !== undefined);
  const max = Math.max(0, ...present.map((v) => Math.max(v.median, v.max ?? v.median)));
  const unit = p.unit(max);
  const ticks = niceTicks(max / unit.scale);
  const top = ticks.at(-1)! || 1;
  const sx = (v: number) => plotX + (v / unit.scale / top) * plotW;
  const out: string[] = [
    `<text class="panel-title" x="0" y="14" font-size="13" font-weight="600">${esc(p.title)}</text>`,
  ];
  const y0 = 24;
  series.forEach((s, i) => {
    const v = p.values[s.key];
    const y = y0 + i * (BAR_H + BAR_GAP);
    if (!v) {
      out.push(
        `<text class="na" x="${plotX + 2}" y="${y + BAR_H - 3}" font-size="11" fill="#888">n/a</text>`,
      );
      return;
    }
    const w = Math.max(1, sx(v.median) - plotX);
    const tip = `${s.label}: ${unit.format(v.median)}${v.min !== undefined && v.max !== undefined && v.n !== 1 ? ` (min ${unit.format(v.min)}, max ${unit.format(v.max)}${v.n ? `, n=${v.n}` : ''})` : ''}`;
    out.push(
      `<rect class="bar" data-series="${esc(s.key)}" x="${plotX}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${s.color}"><title>${esc(tip)}</title></rect>`,
    );
    if (v.min !== undefined && v.max !== undefined && v.max > v.min) {
      const cy = y + BAR_H / 2;
      out.push(
        `<path class="whisker" d="M${sx(v.min).toFixed(1)} ${cy}H${sx(v.max).toFixed(1)}M${sx(v.min).toFixed(1)} ${cy - 4}v8M${sx(v.max).toFixed(1)} ${cy - 4}v8" stroke="#222" stroke-width="1" fill="none"/>`,
      );
    }
    const labelX = Math.max(sx(v.median), sx(v.max ?? v.median)) + 4;
    out.push(
      `<text class="value" x="${labelX.toFixed(1)}" y="${y + BAR_H - 3}" font-size="11">${esc(unit.format(v.median))}</text>`,
    );
  });
  const axisY = y0 + series.length * (BAR_H + BAR_GAP) + 2;
  out.push(
    `<line class="axis" x1="${plotX}" x2="${plotX + plotW}" y1="${axisY}" y2="${axisY}" stroke="#444"/>`,
  );
  for (const t of ticks) {
    const x = plotX + (t / top) * plotW;
    out.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${axisY}" y2="${axisY + 4}" stroke="#444"/>` +
        `<text class="tick" x="${x.toFixed(1)}" y="${axisY + 15}" font-size="10" text-anchor="middle">${esc(formatTick(t))}</text>`,
    );
  }
  out.push(
    `<text class="axis-label" x="${plotX + plotW / 2}" y="${axisY + 30}" font-size="11" text-anchor="middle" fill="#333">${esc(`${p.axis} (${unit.unit})`)}</text>`,
  );
  return out.join('');
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return `${v / 1000}k`;
  return String(Number(v.toPrecision(3)));
}

/** A line chart: x = 1..n, one line per series (missing series are left out). */
export function lineChart(options: {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly (Series & { readonly points: readonly number[] })[];
  readonly unit: (max: number) => Unit;
}): string {
  const width = 1200;
  const height = 340;
  const left = 64;
  const right = 16;
  const lg = legend(options.series, width - left, 64);
  const top = 64 + lg.height + 8;
  const bottom = 56;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const n = Math.max(1, ...options.series.map((s) => s.points.length));
  const max = Math.max(0, ...options.series.flatMap((s) => s.points));
  const unit = options.unit(max);
  const ticks = niceTicks(max / unit.scale);
  const yTop = ticks.at(-1)! || 1;
  const sx = (i: number) => left + (n === 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  const sy = (v: number) => top + plotH - (v / unit.scale / yTop) * plotH;
  const out: string[] = [];
  for (const t of ticks) {
    const y = top + plotH - (t / yTop) * plotH;
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>` +
        `<text class="tick" x="${left - 6}" y="${(y + 4).toFixed(1)}" font-size="10" text-anchor="end">${esc(formatTick(t))}</text>`,
    );
  }
  const xTicks = niceTicks(n, 8).filter((t) => t >= 1 && t <= n && Number.isInteger(t));
  for (const t of [1, ...xTicks.filter((t) => t !== 1)]) {
    const x = sx(t - 1);
    out.push(
      `<text class="tick" x="${x.toFixed(1)}" y="${top + plotH + 16}" font-size="10" text-anchor="middle">${t}</text>`,
    );
  }
  out.push(
    `<line class="axis" x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#444"/>`,
    `<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#444"/>`,
    `<text class="axis-label" x="${left + plotW / 2}" y="${height - 14}" font-size="12" text-anchor="middle">${esc(options.xLabel)}</text>`,
    `<text class="axis-label" transform="translate(16,${top + plotH / 2}) rotate(-90)" font-size="12" text-anchor="middle">${esc(`${options.yLabel} (${unit.unit})`)}</text>`,
  );
  for (const s of options.series) {
    const d = s.points.map(
      (v, i) => `${i === 0 ? 'M' : 'L'}${sx(i).toFixed(1)} ${sy(v).toFixed(1)}`,
    );
    out.push(
      `<path class="line" data-series="${esc(s.key)}" d="${d.join('')}" stroke="${s.color}" stroke-width="2" fill="none"><title>${esc(s.label)}</title></path>`,
    );
  }
  const frame = { ...options, width, height, note: 'median over the runs' };
  return chartSvg(frame, `<g transform="translate(${left},0)">${lg.svg}</g>${out.join('')}`);
}

/** The `<svg>` element of a chart around `body`: its size, accessible title, heading and note. */
function chartSvg(
  frame: {
    readonly id: string;
    readonly title: string;
    readonly note: string;
    readonly width: number;
    readonly height: number;
  },
  body: string,
): string {
  const { id, title, note, width, height } = frame;
  const titleId = `${id}-title`;
  return (
    `<svg class="chart" id="${esc(id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" ` +
    `width="${width}" height="${height}" role="img" aria-labelledby="${esc(titleId)}" ${FONT}>` +
    `<title id="${esc(titleId)}">${esc(title)}</title>` +
    `<text class="chart-title" x="0" y="22" font-size="16" font-weight="600">${esc(title)}</text>` +
    `<text class="chart-note" x="0" y="40" font-size="11" fill="#555">${esc(note)}</text>` +
    body +
    '</svg>'
  );
}

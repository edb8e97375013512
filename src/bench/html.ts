import { VERSION } from '../version.js';
import { formatBytes, formatSeconds } from './format.js';
import type { BenchResults, Cell, Phase, WorkloadInfo } from './results.js';
import { PHASES } from './results.js';
import { median } from './stats.js';
import { esc, lineChart, type Panel, panelChart, type Series, type Unit } from './svg.js';
import { describeWorkload } from './table.js';

/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script, nothing
 * fetched), for one run or several compared (each results file is a run, named by its
 * label). Per workload: a chart of every phase comparing the drivers, disk usage, the
 * per-layer unpack time of strata's snapshotters, and a table of medians, min and max
 * (with the ratio to the first run when there are several).
 */

const PALETTE = [
  '#2563eb',
  '#0d9488',
  '#ea580c',
  '#dc2626',
  '#7c3aed',
  '#ca8a04',
  '#db2777',
  '#4b5563',
];

interface RunSeries extends Series {
  readonly run: number;
  readonly driver: string;
}

/** One series per (run, driver); a driver keeps its hue across runs, later runs lighter. */
function seriesOf(results: readonly BenchResults[]): RunSeries[] {
  const drivers: string[] = [];
  for (const r of results)
    for (const d of r.drivers) if (!drivers.includes(d.id)) drivers.push(d.id);
  const out: RunSeries[] = [];
  results.forEach((r, run) => {
    for (const d of r.drivers) {
      const base = PALETTE[drivers.indexOf(d.id) % PALETTE.length]!;
      out.push({
        key: `${run}:${d.id}`,
        label: results.length > 1 ? `${runName(results, run)} · ${d.label}` : d.label,
        color: lighten(base, Math.min(0.6, run * 0.35)),
        run,
        driver: d.id,
      });
    }
  });
  return out;
}

/** `#rrggbb` mixed with white by `amount` (0..1). */
function lighten(hex: string, amount: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  const mix = (c: number) => Math.round(c + (255 - c) * amount);
  const [r, g, b] = [mix(n >> 16), mix((n >> 8) & 255), mix(n & 255)];
  return `#${((r << 16) | (g << 8) | b).toString(16).padStart(6, '0')}`;
}

/** `A: label` style names for runs when several are compared. */
export function runName(results: readonly BenchResults[], run: number): string {
  const letter = String.fromCharCode(65 + (run % 26));
  return `${letter}: ${results[run]!.label}`;
}

const timeUnit = (max: number): Unit =>
  max >= 1
    ? { scale: 1, unit: 's', format: formatSeconds }
    : { scale: 0.001, unit: 'ms', format: formatSeconds };
const bytesUnit = (max: number): Unit =>
  max >= 2 ** 30
    ? { scale: 2 ** 30, unit: 'GiB', format: formatBytes }
    : { scale: 2 ** 20, unit: 'MiB', format: formatBytes };
const countUnit = (): Unit => ({ scale: 1, unit: 'count', format: (v) => String(Math.round(v)) });

const cellOf = (results: readonly BenchResults[], s: RunSeries, workload: string) =>
  results[s.run]!.cells.find((c) => c.workload === workload && c.driver === s.driver);

/** The workloads of all runs, in first-seen order, with their first description. */
function workloadsOf(results: readonly BenchResults[]): WorkloadInfo[] {
  const out: WorkloadInfo[] = [];
  for (const r of results)
    for (const w of r.workloads) if (!out.some((x) => x.name === w.name)) out.push(w);
  return out;
}

const slug = (s: string) => s.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-|-$/g, '');

function phaseChart(
  results: readonly BenchResults[],
  series: RunSeries[],
  w: WorkloadInfo,
): string {
  const panels: Panel[] = [];
  for (const p of PHASES) {
    const values: Record<string, Panel['values'][string]> = {};
    for (const s of series) {
      const sum = cellOf(results, s, w.name)?.summary[p.id];
      if (sum && sum.n > 0) values[s.key] = sum;
    }
    if (Object.keys(values).length > 0) {
      panels.push({ title: p.label, axis: 'time', values, unit: timeUnit });
    }
  }
  if (panels.length === 0) return '<p class="empty">No measurements for this workload.</p>';
  return panelChart({
    id: `chart-${slug(w.name)}-phases`,
    title: `${w.name}: time per phase and snapshotter`,
    series,
    panels,
  });
}

function usageChart(
  results: readonly BenchResults[],
  series: RunSeries[],
  w: WorkloadInfo,
): string {
  const pick = (
    f: (c: Cell) => number | undefined,
  ): Record<string, { median: number } | undefined> => {
    const out: Record<string, { median: number } | undefined> = {};
    for (const s of series) {
      const c = cellOf(results, s, w.name);
      const v = c ? f(c) : undefined;
      if (v !== undefined) out[s.key] = { median: v };
    }
    return out;
  };
  const panels: Panel[] = [
    {
      title: 'disk used (du)',
      axis: 'size',
      values: pick((c) => c.usage?.du.size),
      unit: bytesUnit,
    },
    {
      title: 'inodes (du)',
      axis: 'inodes',
      values: pick((c) => c.usage?.du.inodes),
      unit: countUnit,
    },
    {
      title: 'size the snapshotter reports',
      axis: 'size',
      values: pick((c) => c.usage?.reported.size),
      unit: bytesUnit,
    },
  ];
  if (panels.every((p) => Object.keys(p.values).length === 0)) return '';
  return panelChart({
    id: `chart-${slug(w.name)}-usage`,
    title: `${w.name}: disk usage after unpack`,
    series,
    panels,
    columns: 3,
    note: 'measured once per run file, after the unpack of the first measured run',
  });
}

function layerChart(
  results: readonly BenchResults[],
  series: RunSeries[],
  w: WorkloadInfo,
): string {
  if (w.layers < 2) return '';
  const lines = series.flatMap((s) => {
    const runs = cellOf(results, s, w.name)?.runs.filter((r) => r.layers) ?? [];
    if (runs.length === 0) return [];
    const points = runs[0]!.layers!.map((_, i) =>
      median(
        runs.map((r) => {
          const l = r.layers![i]!;
          return l.prepare + l.apply + l.commit;
        }),
      ),
    );
    return [{ ...s, points }];
  });
  if (lines.length === 0) return '';
  return lineChart({
    id: `chart-${slug(w.name)}-layers`,
    title: `${w.name}: unpack time per layer (prepare + apply + commit)`,
    xLabel: 'layer (1 = base)',
    yLabel: 'time per layer',
    series: lines,
    unit: timeUnit,
  });
}

function rawTable(results: readonly BenchResults[], series: RunSeries[], w: WorkloadInfo): string {
  const several = results.length > 1;
  const head = ['phase', 'driver', ...(several ? ['run'] : []), 'median', 'min', 'max', 'n'];
  if (several) head.push('vs run A');
  const rows: string[] = [];
  const row = (cells: string[], cls = '') =>
    rows.push(
      `<tr${cls ? ` class="${cls}"` : ''}>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`,
    );
  for (const p of PHASES) {
    for (const s of series) {
      const sum = cellOf(results, s, w.name)?.summary[p.id];
      if (!sum || sum.n === 0) continue;
      const first = cellOf(results, { ...s, run: 0 }, w.name)?.summary[p.id];
      const cells = [esc(p.label), esc(driverLabel(results, s))];
      if (several) cells.push(esc(String.fromCharCode(65 + s.run)));
      cells.push(
        ...[sum.median, sum.min, sum.max].map((v) => esc(formatSeconds(v))),
        String(sum.n),
      );
      if (several) cells.push(ratioCell(s.run, sum.median, first?.median));
      row(cells);
    }
  }
  for (const s of series) {
    const c = cellOf(results, s, w.name);
    if (c?.error) row([esc('error'), esc(driverLabel(results, s)), esc(c.error)], 'error');
  }
  return `<table class="raw"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function ratioCell(run: number, value: number, first: number | undefined): string {
  if (run === 0 || first === undefined || !(first > 0)) return '';
  const ratio = value / first;
  const cls = ratio < 0.95 ? 'faster' : ratio > 1.05 ? 'slower' : 'same';
  return `<span class="${cls}">${ratio.toFixed(2)}x</span>`;
}

const driverLabel = (results: readonly BenchResults[], s: RunSeries) =>
  results[s.run]!.drivers.find((d) => d.id === s.driver)?.label ?? s.driver;

function runsTable(results: readonly BenchResults[]): string {
  const rows = results.map((r, i) => {
    const m = r.machine;
    const cells = [
      results.length > 1 ? String.fromCharCode(65 + i) : '',
      r.label,
      r.startedAt.slice(0, 16).replace('T', ' '),
      `${m.host}: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB`,
      `Linux ${m.kernel}, Node ${m.node}`,
      `${m.dir.path} (${m.dir.fsType})`,
      `strata ${m.strataVersion} ${m.strataCommit}`,
      `${r.options.runs} + ${r.options.warmup} warm-up${r.options.dropCaches ? ', caches dropped' : ''}`,
      `${m.loadAverage.start} → ${m.loadAverage.end}`,
    ];
    return `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
  });
  const head = [
    '',
    'run',
    'started (UTC)',
    'machine',
    'system',
    'measured on',
    'strata',
    'runs',
    'load',
  ];
  return `<table class="runs"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function notesList(results: readonly BenchResults[]): string {
  const items = results.flatMap((r, i) => {
    const who = results.length > 1 ? `${String.fromCharCode(65 + i)}: ` : '';
    return [
      ...r.skipped.map((s) => `${who}skipped ${s.driver ?? s.workload ?? ''}: ${s.reason}`),
      ...r.notes.map((n) => `${who}${n}`),
      `${who}command: ${r.command}`,
    ];
  });
  return `<ul class="notes">${items.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1240px;padding:0 16px;color:#111;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:36px 0 6px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555;margin:0 0 16px}table{border-collapse:collapse;margin:12px 0;font-size:12.5px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f5f5f5}
table.raw td:nth-child(n+3){font-variant-numeric:tabular-nums}
.faster{color:#15803d;font-weight:600}.slower{color:#b91c1c;font-weight:600}.same{color:#555}
tr.error td{color:#b91c1c}svg.chart{display:block;margin:12px 0;max-width:100%;height:auto}
nav a{margin-right:12px}dl.phases{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;font-size:13px}
dl.phases dt{font-weight:600}.notes{font-size:12.5px;color:#333}footer{margin-top:40px;color:#777;font-size:12px}
`;

export interface HtmlOptions {
  readonly title?: string;
}

/** The report for one run, or several compared. */
export function htmlReport(results: readonly BenchResults[], options: HtmlOptions = {}): string {
  const series = seriesOf(results);
  const workloads = workloadsOf(results);
  const title =
    options.title ??
    (results.length > 1
      ? 'strata snapshotter benchmarks compared'
      : 'strata snapshotter benchmark');
  const sections = workloads.map((w) => {
    const id = `w-${slug(w.name)}`;
    return (
      `<section class="workload" id="${esc(id)}"><h2>${esc(w.name)}</h2>` +
      `<p>${esc(w.description)}. ${esc(describeWorkload(w))}.</p>` +
      phaseChart(results, series, w) +
      usageChart(results, series, w) +
      layerChart(results, series, w) +
      rawTable(results, series, w) +
      '</section>'
    );
  });
  const phases = PHASES.map((p) => `<dt>${esc(p.label)}</dt><dd>${esc(p.description)}</dd>`);
  const usedPhases = new Set<Phase>(
    results.flatMap((r) => r.cells.flatMap((c) => Object.keys(c.summary) as Phase[])),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body>
<header><h1>${esc(title)}</h1>
<p class="sub">${esc(results.map((r) => r.label).join(' vs '))}; ${workloads.length} workload(s), ${series.length} series, ${usedPhases.size} phases. Lower is faster.</p></header>
<nav>${workloads.map((w) => `<a href="#w-${esc(slug(w.name))}">${esc(w.name)}</a>`).join('')}</nav>
<h2>Runs</h2>${runsTable(results)}
<h2>What each phase measures</h2><dl class="phases">${phases.join('')}</dl>
${sections.join('\n')}
<h2>Notes</h2>${notesList(results)}
<footer>Generated by strata ${esc(VERSION)} (strata bench). Self-contained: no script, nothing loaded from the network.</footer>
</body></html>
`;
}

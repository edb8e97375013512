import { columns, fixed, markdownTable, mebibytes, megabytes } from '../../src/bench/index.js';
import { type BenchReport, provenance } from '../report.js';
import type { E2eResult, E2eRow } from './measure.js';
import type { TargetCheck } from './targets.js';

/** Part 2's tables: every tool's pull, the ratios strata/peer, process start, the targets. */

/** The terminal block: the table, the start-up line, what was skipped, then the targets. */
export function e2eTerminal(report: BenchReport): string[] {
  const { e2e, targets } = report;
  if (!e2e) return [];
  const out = [
    '',
    `Part 2: pull + unpack end to end (median of ${report.options.runs} runs)`,
    columns(e2eTable(e2e)),
    `  ${startupLine(e2e)}`,
    ...e2e.skipped.map((s) => `  skipped: ${s}`),
  ];
  if (targets?.length) out.push('', 'Targets', columns(targetTable(targets)));
  return out;
}

/** The docs section: the images, how to read the table, the table, the targets, the skips. */
export function e2eMarkdown(report: BenchReport): string | undefined {
  const { e2e, targets } = report;
  if (!e2e) return undefined;
  const images = [
    ['image', 'source', 'layers', 'gzip MB'],
    ...e2e.images.map((i) => [i.name, i.source, String(i.layers), megabytes(i.gzBytes)]),
  ];
  const lines = [
    provenance(report),
    '',
    markdownTable(images),
    '',
    'Wall seconds from spawn to exit; `strata/peer` = median(strata) / median(peer) over the same',
    'interleaved runs. CPU s: user + system seconds (strata: all its threads; containerd: the',
    'daemon and ctr; baseline: curl, pigz, tar). Peak RSS: strata = the CLI process (VmHWM at',
    'exit); containerd = the daemon (VmHWM).',
    `${startupLine(e2e)}.`,
    '',
    markdownTable(e2eTable(e2e)),
  ];
  if (targets?.length)
    lines.push('', '**Targets** (issue #5)', '', markdownTable(targetTable(targets)));
  if (e2e.skipped.length) lines.push('', ...e2e.skipped.map((s) => `- not measured: ${s}`));
  return lines.join('\n');
}

const f2 = (n: number) => fixed(n, 2);

function e2eTable(e2e: E2eResult): string[][] {
  const head = [
    'image',
    'fs',
    'snapshotter',
    'tool',
    'median s',
    'min-max s',
    'CPU s',
    'peak RSS MiB',
    'strata/peer',
  ];
  const body = e2e.rows.map((r) => {
    const ratio = e2e.ratios.find(
      (x) =>
        x.image === r.image &&
        x.fs === r.fs &&
        x.snapshotter === r.snapshotter &&
        x.peer === r.tool,
    );
    return [
      r.image,
      r.fs,
      r.snapshotter,
      r.tool + innerNote(r),
      f2(r.seconds.median),
      `${f2(r.seconds.min)}-${f2(r.seconds.max)}`,
      r.cpuSeconds === undefined ? '-' : f2(r.cpuSeconds),
      mebibytes(r.peakRss),
      ratio ? `${f2(ratio.ratio)}x` : '',
    ];
  });
  return [head, ...body];
}

const innerNote = (r: E2eRow) =>
  r.innerSeconds !== undefined ? ` (in-CLI ${f2(r.innerSeconds)} s)` : '';

const startupLine = (e2e: E2eResult) =>
  `strata CLI start and exit (\`strata version\`: node + strata's modules): ${f2(e2e.startup.median)} s` +
  (e2e.startupRss ? `, peak RSS ${mebibytes(e2e.startupRss)} MiB` : '') +
  (e2e.nodeStartup ? ` (\`node -e 0\`: ${f2(e2e.nodeStartup.median)} s)` : '');

function targetTable(targets: readonly TargetCheck[]): string[][] {
  const measured = (t: TargetCheck) =>
    t.unit === 'x' ? `${f2(t.value)}x` : `${fixed(t.value, 0)} MiB`;
  const over = (t: TargetCheck) =>
    t.unit === 'x' ? `${f2(t.value / t.limit)}x over` : `${fixed(t.value - t.limit, 0)} MiB over`;
  return [
    ['image', 'target', 'measured', 'limit', 'status'],
    ...targets.map((t) => [
      t.image,
      t.target,
      measured(t),
      t.unit === 'x' ? `<= ${t.limit}x` : `< ${t.limit} MiB`,
      t.met ? 'met' : `missed (${over(t)})`,
    ]),
  ];
}

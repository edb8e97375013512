import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { E2eResult, E2eRow } from './e2e.js';
import type { Machine } from './env.js';
import type { MicroResult, MicroRow } from './micro.js';

/**
 * The bench's outputs from one report object: aligned tables for the terminal, the JSON
 * written under bench/results/, and the generated sections of docs/BENCHMARKS.md (one per
 * part, between markers, so re-running one part rewrites only its section).
 */

export interface BenchReport {
  readonly version: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The command that produced it, as typed. */
  readonly command: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly machine: Machine;
  /** 1-minute load average when the run ended (machine.loadAverage: at the start). */
  readonly loadAverageEnd?: number;
  readonly micro?: MicroResult;
  readonly e2e?: E2eResult;
  readonly targets?: readonly TargetCheck[];
}

export interface TargetCheck {
  readonly image: string;
  readonly target: string;
  readonly value: number;
  readonly limit: number;
  readonly unit: 'x' | 'MiB';
  readonly met: boolean;
}

/** Issue #5's targets, on tmpfs with the overlay snapshotter. */
export function checkTargets(e2e: E2eResult): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const image of e2e.images) {
    const ratio = (peer: string) =>
      e2e.ratios.find(
        (r) =>
          r.image === image.name &&
          r.fs === 'tmpfs' &&
          r.snapshotter === 'overlay' &&
          r.peer === peer,
      )?.ratio;
    const add = (target: string, value: number | undefined, limit: number, unit: 'x' | 'MiB') => {
      if (value !== undefined && Number.isFinite(value)) {
        out.push({ image: image.name, target, value, limit, unit, met: value <= limit });
      }
    };
    add('pull+unpack vs containerd (tmpfs, overlay)', ratio('containerd'), 0.5, 'x');
    add('pull+unpack vs curl|pigz|tar (tmpfs, overlay)', ratio('curl|pigz|tar'), 1.0, 'x');
    const peaks = e2e.rows
      .filter((r) => r.image === image.name && r.tool === 'strata' && r.peakRss)
      .map((r) => r.peakRss!);
    add(
      'peak RSS of strata pull',
      peaks.length ? Math.max(...peaks) / 2 ** 20 : undefined,
      256,
      'MiB',
    );
  }
  return out;
}

// --- formatting -------------------------------------------------------------------------

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '-');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');
const mib = (bytes: number | undefined) => (bytes ? (bytes / 2 ** 20).toFixed(0) : '-');
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

function limitOf(rows: readonly MicroRow[], r: MicroRow): MicroRow | undefined {
  const same = (o: MicroRow) => o.profile === r.profile && o.stage === r.stage && o.fs === r.fs;
  return (
    rows.find((o) => same(o) && o.role === 'limit') ??
    rows.find((o) => same(o) && o.role === 'strata')
  );
}

function relative(rows: readonly MicroRow[], r: MicroRow): string {
  const base = limitOf(rows, r);
  if (!base || base === r) return '';
  return `${f2(r.mbps.median / base.mbps.median)}x ${base.role === 'limit' ? 'limit' : 'strata'}`;
}

const STAGES = ['sha256', 'gunzip', 'tar parse', 'apply', 'pipeline'];
const ROLES = ['strata', 'limit', 'alternative'];

/** Rows by profile (as measured), then stage, filesystem and role. */
function sorted(micro: MicroResult): MicroRow[] {
  const profiles = micro.profiles.map((p) => p.name);
  const key = (r: MicroRow) => [
    profiles.indexOf(r.profile),
    STAGES.indexOf(r.stage),
    r.fs === 'disk' ? 2 : r.fs === 'tmpfs' ? 1 : 0,
    ROLES.indexOf(r.role),
  ];
  return [...micro.rows].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return 0;
  });
}

function microTable(micro: MicroResult): string[][] {
  const head = ['profile', 'stage', 'fs', 'implementation', 'MB/s', 'min-max', 'relative'];
  const body = sorted(micro).map((r) => [
    r.profile,
    r.stage,
    r.fs ?? 'memory',
    `${r.impl}${r.role === 'limit' ? ' [limit]' : ''}`,
    f0(r.mbps.median),
    `${f0(r.mbps.min)}-${f0(r.mbps.max)}`,
    relative(micro.rows, r),
  ]);
  return [head, ...body];
}

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
      mib(r.peakRss),
      ratio ? `${f2(ratio.ratio)}x` : '',
    ];
  });
  return [head, ...body];
}

const startupLine = (e2e: E2eResult) =>
  `strata CLI start and exit (\`strata version\`: node + strata's modules): ${f2(e2e.startup.median)} s` +
  (e2e.startupRss ? `, peak RSS ${mib(e2e.startupRss)} MiB` : '') +
  (e2e.nodeStartup ? ` (\`node -e 0\`: ${f2(e2e.nodeStartup.median)} s)` : '');

const innerNote = (r: E2eRow) =>
  r.innerSeconds !== undefined ? ` (in-CLI ${f2(r.innerSeconds)} s)` : '';

function targetTable(targets: readonly TargetCheck[]): string[][] {
  return [
    ['image', 'target', 'measured', 'limit', 'status'],
    ...targets.map((t) => [
      t.image,
      t.target,
      t.unit === 'x' ? `${f2(t.value)}x` : `${f0(t.value)} MiB`,
      t.unit === 'x' ? `<= ${t.limit}x` : `< ${t.limit} MiB`,
      t.met
        ? 'met'
        : `missed (${t.unit === 'x' ? `${f2(t.value / t.limit)}x over` : `${f0(t.value - t.limit)} MiB over`})`,
    ]),
  ];
}

function aligned(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function markdown(rows: string[][]): string {
  const line = (r: string[]) => `| ${r.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [
    line(rows[0]!),
    `|${rows[0]!.map(() => '---').join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

/** What the micro numbers say about the two library choices the owner asked to justify. */
export function decisions(micro: MicroResult): string[] {
  const out: string[] = [];
  const get = (profile: string, stage: string, impl: string) =>
    micro.rows.find((r) => r.profile === profile && r.stage === stage && r.impl.startsWith(impl))
      ?.mbps.median;
  for (const p of micro.profiles) {
    const ours = get(p.name, 'tar parse', 'strata');
    const ts = get(p.name, 'tar parse', 'tar-stream');
    const zlib = get(p.name, 'gunzip', 'node:zlib');
    const fflate = get(p.name, 'gunzip', 'fflate');
    if (ours && ts) {
      // parsing costs per entry, not per byte: entries/s is the figure that carries over
      const perSecond = (rate: number) => f0((rate * 1e6 * p.entries) / p.tarBytes / 1000);
      out.push(
        `${p.name}: tar parse: strata's tar-reader ${perSecond(ours)}k entries/s vs tar-stream ` +
          `${perSecond(ts)}k entries/s (${f2(ours / ts)}x)`,
      );
    }
    if (zlib && fflate) {
      out.push(
        `${p.name}: gunzip: node:zlib ${f0(zlib)} MB/s vs fflate ${f0(fflate)} MB/s (${f2(zlib / fflate)}x)`,
      );
    }
  }
  return out;
}

function machineLine(report: BenchReport): string {
  const m = report.machine;
  const fss = Object.entries(m.filesystems)
    .map(([k, v]) => `${k} = ${v.path} (${v.type})`)
    .join(', ');
  return (
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}; ${fss}; ` +
    `strata ${m.strataCommit}; load average ${m.loadAverage} at start` +
    (report.loadAverageEnd === undefined ? '' : `, ${report.loadAverageEnd} at end`)
  );
}

// --- terminal ---------------------------------------------------------------------------

export function terminalReport(report: BenchReport): string {
  const out: string[] = [];
  if (report.micro) {
    out.push('', `Part 1: pipeline micro-benchmarks (median of ${report.options.runs} runs)`);
    out.push(aligned(microTable(report.micro)));
    for (const d of decisions(report.micro)) out.push(`  ${d}`);
  }
  if (report.e2e) {
    out.push('', `Part 2: pull + unpack end to end (median of ${report.options.runs} runs)`);
    out.push(aligned(e2eTable(report.e2e)));
    out.push(`  ${startupLine(report.e2e)}`);
    for (const s of report.e2e.skipped) out.push(`  skipped: ${s}`);
  }
  if (report.targets?.length) out.push('', 'Targets', aligned(targetTable(report.targets)));
  out.push('', `machine: ${machineLine(report)}`);
  return out.join('\n');
}

// --- JSON -------------------------------------------------------------------------------

export async function writeJson(file: string, report: BenchReport): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(report, null, 1)}\n`);
}

export async function readJson(file: string): Promise<BenchReport> {
  const report = JSON.parse(await readFile(file, 'utf8')) as BenchReport;
  if (report.version !== 1) throw new Error(`bench: ${file}: not a bench report (version 1)`);
  return report;
}

// --- docs/BENCHMARKS.md -----------------------------------------------------------------

export const MARKERS = {
  micro: [
    '<!-- bench:micro:begin (generated by npm run bench -- --update-docs) -->',
    '<!-- bench:micro:end -->',
  ],
  e2e: [
    '<!-- bench:e2e:begin (generated by npm run bench -- --update-docs) -->',
    '<!-- bench:e2e:end -->',
  ],
} as const;

function provenance(report: BenchReport): string {
  return (
    `Measured ${report.finishedAt.slice(0, 16).replace('T', ' ')} UTC by \`${report.command}\`, ` +
    `median of ${report.options.runs} run(s) (min-max). Machine: ${machineLine(report)}.`
  );
}

export function microMarkdown(report: BenchReport): string {
  const micro = report.micro!;
  const profiles = [
    ['profile', 'source', 'entries', 'tar MB', 'gzip MB', 'ratio'],
    ...micro.profiles.map((p) => [
      p.name,
      p.source,
      String(p.entries),
      mb(p.tarBytes),
      mb(p.gzBytes),
      f2(p.tarBytes / p.gzBytes),
    ]),
  ];
  return [
    provenance(report),
    '',
    markdown(profiles),
    '',
    'MB/s of uncompressed (tar) bytes; `relative` is against the limit measured in the same run',
    '(or against strata where there is no limit).',
    '',
    markdown(microTable(micro)),
    '',
    ...decisions(micro).map((d) => `- ${d}`),
  ].join('\n');
}

export function e2eMarkdown(report: BenchReport): string {
  const e2e = report.e2e!;
  const images = [
    ['image', 'source', 'layers', 'gzip MB'],
    ...e2e.images.map((i) => [i.name, i.source, String(i.layers), mb(i.gzBytes)]),
  ];
  const lines = [
    provenance(report),
    '',
    markdown(images),
    '',
    'Wall seconds from spawn to exit; `strata/peer` = median(strata) / median(peer) over the same',
    'interleaved runs. CPU s: user + system seconds (strata: all its threads; containerd: the',
    'daemon and ctr; baseline: curl, pigz, tar). Peak RSS: strata = the CLI process (VmHWM at',
    'exit); containerd = the daemon (VmHWM).',
    `${startupLine(e2e)}.`,
    '',
    markdown(e2eTable(e2e)),
  ];
  if (report.targets?.length)
    lines.push('', '**Targets** (issue #5)', '', markdown(targetTable(report.targets)));
  if (e2e.skipped.length) lines.push('', ...e2e.skipped.map((s) => `- not measured: ${s}`));
  return lines.join('\n');
}

/** Rewrites the generated sections of `file` for the parts the report has. */
export async function updateDocs(file: string, report: BenchReport): Promise<void> {
  let text = existsSync(file) ? await readFile(file, 'utf8') : '# Benchmarks\n';
  const parts: ['micro' | 'e2e', string][] = [];
  if (report.micro) parts.push(['micro', microMarkdown(report)]);
  if (report.e2e) parts.push(['e2e', e2eMarkdown(report)]);
  for (const [part, body] of parts) {
    const [begin, end] = MARKERS[part];
    const block = `${begin}\n${body}\n${end}`;
    const from = text.indexOf(begin);
    const to = text.indexOf(end);
    if (from >= 0 && to > from) text = text.slice(0, from) + block + text.slice(to + end.length);
    else text = `${text.trimEnd()}\n\n${block}\n`;
  }
  await writeFile(file, text);
}

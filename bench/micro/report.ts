import { columns, fixed, markdownTable, megabytes } from '../../src/bench/index.js';
import { type BenchReport, provenance } from '../report.js';
import type { MicroResult, MicroRow } from './measure.js';

/** Part 1's tables: every stage next to its limit, and the two library choices they justify. */

const STAGES = ['sha256', 'gunzip', 'tar parse', 'apply', 'pipeline'];
const ROLES = ['strata', 'limit', 'alternative'];

/** The terminal block: the table, then the decisions. */
export function microTerminal(report: BenchReport): string[] {
  if (!report.micro) return [];
  return [
    '',
    `Part 1: pipeline micro-benchmarks (median of ${report.options.runs} runs)`,
    columns(microTable(report.micro)),
    ...decisions(report.micro).map((d) => `  ${d}`),
  ];
}

/** The docs section: the layers measured, the table, the decisions. */
export function microMarkdown(report: BenchReport): string | undefined {
  const { micro } = report;
  if (!micro) return undefined;
  const profiles = [
    ['profile', 'source', 'entries', 'tar MB', 'gzip MB', 'ratio'],
    ...micro.profiles.map((p) => [
      p.name,
      p.source,
      String(p.entries),
      megabytes(p.tarBytes),
      megabytes(p.gzBytes),
      fixed(p.tarBytes / p.gzBytes, 2),
    ]),
  ];
  return [
    provenance(report),
    '',
    markdownTable(profiles),
    '',
    'MB/s of uncompressed (tar) bytes; `relative` is against the limit measured in the same run',
    '(or against strata where there is no limit).',
    '',
    markdownTable(microTable(micro)),
    '',
    ...decisions(micro).map((d) => `- ${d}`),
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
      const perSecond = (rate: number) => fixed((rate * 1e6 * p.entries) / p.tarBytes / 1000, 0);
      out.push(
        `${p.name}: tar parse: strata's tar-reader ${perSecond(ours)}k entries/s vs tar-stream ` +
          `${perSecond(ts)}k entries/s (${fixed(ours / ts, 2)}x)`,
      );
    }
    if (zlib && fflate) {
      out.push(
        `${p.name}: gunzip: node:zlib ${fixed(zlib, 0)} MB/s vs fflate ${fixed(fflate, 0)} MB/s (${fixed(zlib / fflate, 2)}x)`,
      );
    }
  }
  return out;
}

function microTable(micro: MicroResult): string[][] {
  const head = ['profile', 'stage', 'fs', 'implementation', 'MB/s', 'min-max', 'relative'];
  const body = sorted(micro).map((r) => [
    r.profile,
    r.stage,
    r.fs ?? 'memory',
    `${r.impl}${r.role === 'limit' ? ' [limit]' : ''}`,
    fixed(r.mbps.median, 0),
    `${fixed(r.mbps.min, 0)}-${fixed(r.mbps.max, 0)}`,
    relative(micro.rows, r),
  ]);
  return [head, ...body];
}

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

/** The row's speed against its stage's limit (or strata's, where there is no limit). */
function relative(rows: readonly MicroRow[], r: MicroRow): string {
  const same = (o: MicroRow) => o.profile === r.profile && o.stage === r.stage && o.fs === r.fs;
  const base =
    rows.find((o) => same(o) && o.role === 'limit') ??
    rows.find((o) => same(o) && o.role === 'strata');
  if (!base || base === r) return '';
  const against = base.role === 'limit' ? 'limit' : 'strata';
  return `${fixed(r.mbps.median / base.mbps.median, 2)}x ${against}`;
}

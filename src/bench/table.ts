import { columns, formatBytes, formatSeconds } from './format.js';
import type { BenchResults, Cell, DiskUsage, WorkloadInfo } from './results.js';
import { PHASES } from './results.js';
import type { Summary } from './stats.js';

/**
 * The terminal view of a result: per workload, one row per phase and one column per
 * driver, `median (min-max)`; disk usage below.
 */

export function formatSummary(s: Summary | undefined): string {
  if (!s || s.n === 0) return '-';
  if (s.n === 1) return formatSeconds(s.median);
  return `${formatSeconds(s.median)} (${formatSeconds(s.min)}-${formatSeconds(s.max)})`;
}

export function formatUsage(u: DiskUsage | undefined): string {
  return u ? `${formatBytes(u.size)}, ${u.inodes} inodes` : '-';
}

export function describeWorkload(w: WorkloadInfo): string {
  const parts = [
    `${w.layers} layer${w.layers === 1 ? '' : 's'}`,
    `${formatBytes(w.blobBytes)} gzip`,
  ];
  if (w.tarBytes !== undefined) parts.push(`${formatBytes(w.tarBytes)} tar`);
  if (w.entries !== undefined) parts.push(`${w.entries} entries`);
  return `${parts.join(', ')} (${w.source})`;
}

/** Every workload's table, with what was skipped and the notes. */
export function snapshotterReport(r: BenchResults): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `strata bench snapshotters: ${r.label}; ${m.cpu}, ${m.cores} cores, Linux ${m.kernel}, Node ${m.node}; ` +
      `${m.dir.path} (${m.dir.fsType}); median of ${r.options.runs} run(s) after ${r.options.warmup} warm-up; ` +
      `load ${m.loadAverage.start} -> ${m.loadAverage.end}`,
  );
  for (const w of r.workloads) {
    const cells = r.drivers.map((d) =>
      r.cells.find((c) => c.workload === w.name && c.driver === d.id),
    );
    out.push('', `${w.name}: ${describeWorkload(w)}`);
    const rows: string[][] = [['PHASE', ...r.drivers.map((d) => d.label)]];
    for (const p of PHASES) {
      if (!cells.some((c) => c?.summary[p.id])) continue;
      rows.push([p.label, ...cells.map((c) => formatSummary(c?.summary[p.id]))]);
    }
    rows.push(['disk (du)', ...cells.map((c) => formatUsage(c?.usage?.du))]);
    rows.push(['usage (reported)', ...cells.map((c) => formatUsage(c?.usage?.reported))]);
    out.push(columns(rows));
    for (const c of cells.filter((x): x is Cell => x?.error !== undefined)) {
      out.push(`  ${c.driver}: failed: ${c.error}`);
    }
  }
  for (const s of r.skipped) out.push(`skipped ${s.driver ?? s.workload ?? ''}: ${s.reason}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}

/** Several runs side by side: the median of each phase per run, and the last run / the first. */
export function comparisonReport(results: readonly BenchResults[]): string {
  const out: string[] = [];
  results.forEach((r, i) => {
    const m = r.machine;
    out.push(`${String.fromCharCode(65 + i)}: ${r.label} (${m.host}, ${m.cpu}, ${m.dir.fsType})`);
  });
  const letters = results.map((_, i) => String.fromCharCode(65 + i));
  const names: string[] = [];
  for (const r of results)
    for (const w of r.workloads) if (!names.includes(w.name)) names.push(w.name);
  for (const name of names) {
    const rows: string[][] = [['PHASE', 'DRIVER', ...letters, `${letters.at(-1)}/A`]];
    const drivers: string[] = [];
    for (const r of results)
      for (const d of r.drivers) if (!drivers.includes(d.id)) drivers.push(d.id);
    for (const p of PHASES) {
      for (const d of drivers) {
        const medians = results.map(
          (r) => r.cells.find((c) => c.workload === name && c.driver === d)?.summary[p.id]?.median,
        );
        if (medians.every((v) => v === undefined)) continue;
        const [first] = medians;
        const last = medians.at(-1);
        const ratio = first && last !== undefined ? `${(last / first).toFixed(2)}x` : '-';
        rows.push([
          p.label,
          d,
          ...medians.map((v) => (v === undefined ? '-' : formatSeconds(v))),
          ratio,
        ]);
      }
    }
    out.push('', name, columns(rows));
  }
  return out.join('\n');
}

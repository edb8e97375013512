import type { Writable } from 'node:stream';
import type { FetchResult } from '../fetch/index.js';
import type { Descriptor } from '../oci/index.js';

/** Writes rows as left-aligned columns separated by three spaces (like ctr and docker). */
export function printTable(
  out: Writable,
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  out.write(`${[line(headers), ...rows.map(line)].join('\n')}\n`);
}

/** Writes a value as indented JSON with a trailing newline. */
export function printJson(out: Writable, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 52428800 -> "50.0 MiB" */
export function formatSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** A coarse age like docker's: "3 seconds ago", "2 hours ago". */
export function formatAge(date: Date, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - date.getTime()) / 1000));
  const steps: [number, string][] = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [30, 'day'],
    [12, 'month'],
    [Number.POSITIVE_INFINITY, 'year'],
  ];
  let value = s;
  for (const [size, name] of steps) {
    if (value < size) return `${value} ${name}${value === 1 ? '' : 's'} ago`;
    value = Math.floor(value / size);
  }
  return 'long ago';
}

export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** Parses `k=v` arguments; `k=` (empty value) means remove. */
export function parseLabelArgs(args: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new UsageError(`label ${JSON.stringify(arg)}: expected KEY=VALUE`);
    labels[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return labels;
}

/** A mistake in how the command was called: printed with a usage hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A descriptor as the CLI prints it in JSON. */
export const descriptorJson = (d: Descriptor) => ({
  mediaType: d.mediaType,
  digest: d.digest,
  size: d.size,
  ...(d.platform ? { platform: d.platform } : {}),
});

export function fetchResultJson(r: FetchResult) {
  return {
    name: r.name,
    target: descriptorJson(r.target),
    manifests: r.manifests.map(descriptorJson),
  };
}

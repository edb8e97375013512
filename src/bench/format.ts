/**
 * How benchmark numbers are written, in the terminal, in markdown and in the HTML report:
 * seconds and byte counts with their units, fixed-point numbers (`-` for what was not
 * measured), and tables (aligned columns; markdown).
 */

/** 0.0123 -> "12.3 ms", 2.5 -> "2.50 s"; `-` when not finite. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  if (s >= 1) return `${s.toFixed(2)} s`;
  const ms = s * 1000;
  if (ms < 0.1) return `${(ms * 1000).toFixed(0)} µs`;
  return `${ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)} ms`;
}

/** 1536 -> "1.5 KiB": binary units, the largest that keeps the number at 1 or more. */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/** `n` with `digits` decimals, or `-` when it is not a finite number. */
export function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

/** Bytes as MB (10^6), one decimal: what MB/s figures are made of. */
export function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** Bytes as whole MiB, or `-` for none (a peak RSS that was not measured). */
export function mebibytes(bytes: number | undefined): string {
  return bytes ? (bytes / 2 ** 20).toFixed(0) : '-';
}

/** Aligned columns, two spaces apart, no trailing spaces. */
export function columns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A markdown table: the first row is the header; `|` in cells is escaped. */
export function markdownTable(rows: readonly (readonly string[])[]): string {
  const [head = [], ...body] = rows;
  const line = (r: readonly string[]) =>
    `| ${r.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(head), `|${head.map(() => '---').join('|')}|`, ...body.map(line)].join('\n');
}

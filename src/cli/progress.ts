import type { Writable } from 'node:stream';
import type { ProgressEvent } from '../progress.js';
import type { CommandContext } from './command.js';
import { formatSize } from './output.js';

/**
 * Progress output for long commands (pull, content fetch, unpack, import, export, preload). It knows
 * nothing about registries: items are named by `id` (a digest or a reference) and move
 * through `phase`s, with byte counts when known. Three renderings:
 * - `tty`: one line per item, redrawn in place with bars, like `docker pull`;
 * - `plain`: one line per phase change (pipes and logs);
 * - `json`: one JSON object per line; byte updates throttled per item.
 */
export interface ProgressItem {
  readonly phase: string;
  readonly id: string;
  readonly kind?: string;
  readonly done?: number;
  readonly total?: number;
  readonly message?: string;
}

export interface ProgressRenderer {
  update(event: ProgressItem): void;
  /** Draws the final state and stops the timer. */
  finish(): void;
}

export type ProgressMode = 'tty' | 'plain' | 'json' | 'none';

export interface ProgressOptions {
  readonly out: Writable;
  readonly mode: ProgressMode;
  /** Minimum time between redraws (tty) or byte updates per item (json, plain); default 100 ms. */
  readonly intervalMs?: number;
}

/** The mode for a stream: json when asked, bars on a terminal, plain lines otherwise. */
export function progressMode(out: Writable, json: boolean): ProgressMode {
  if (json) return 'json';
  return (out as { isTTY?: boolean }).isTTY ? 'tty' : 'plain';
}

export function createProgress(options: ProgressOptions): ProgressRenderer {
  switch (options.mode) {
    case 'tty':
      return ttyRenderer(options.out, options.intervalMs ?? 100);
    case 'plain':
      return plainRenderer(options.out);
    case 'json':
      return jsonRenderer(options.out, options.intervalMs ?? 100);
    case 'none':
      return { update() {}, finish() {} };
  }
}

/** `sha256:0123456789ab...` shows as `0123456789ab`; other ids as they are. */
export function displayId(id: string): string {
  const m = /^sha(?:256|512):([0-9a-f]{12})[0-9a-f]*$/.exec(id);
  return m ? m[1]! : id;
}

const FINAL = new Set(['done', 'exists']);
/** Phases that move bytes: drawn as bars on a terminal, throttled in JSON. */
const BYTE_PHASES = new Set(['downloading', 'reading', 'importing', 'exporting']);
const isByteProgress = (e: ProgressItem) => BYTE_PHASES.has(e.phase);

function describe(e: ProgressItem, width = 30): string {
  const label = `${displayId(e.id)}: ${e.phase}${e.kind ? ` ${e.kind}` : ''}`;
  if (isByteProgress(e) && e.total) {
    const done = Math.min(e.done ?? 0, e.total);
    const filled = Math.round((done / e.total) * width);
    const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}]`;
    return `${label} ${bar} ${formatSize(done)}/${formatSize(e.total)}`;
  }
  if (e.phase === 'retrying' && e.message) return `${label}: ${e.message}`;
  if (FINAL.has(e.phase) && e.total) return `${label} (${formatSize(e.total)})`;
  return e.message && e.phase !== 'resolved'
    ? `${label}: ${e.message}`
    : `${label}${e.message ? ` ${e.message}` : ''}`;
}

function ttyRenderer(out: Writable, intervalMs: number): ProgressRenderer {
  const items = new Map<string, ProgressItem>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const columns = () => (out as { columns?: number }).columns ?? 100;
  const draw = () => {
    timer = undefined;
    let text = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const e of items.values()) text += `\x1b[2K${describe(e).slice(0, columns() - 1)}\n`;
    drawn = items.size;
    out.write(text);
  };
  return {
    update(e) {
      items.set(e.id, e);
      timer ??= setTimeout(draw, intervalMs);
    },
    finish() {
      if (timer) clearTimeout(timer);
      draw();
    },
  };
}

function plainRenderer(out: Writable): ProgressRenderer {
  const phases = new Map<string, string>();
  return {
    update(e) {
      if (phases.get(e.id) === e.phase && e.phase !== 'retrying') return;
      phases.set(e.id, e.phase);
      out.write(`${describe({ ...e, ...(isByteProgress(e) ? { total: 0 } : {}) })}\n`);
    },
    finish() {},
  };
}

function jsonRenderer(out: Writable, intervalMs: number): ProgressRenderer {
  const last = new Map<string, number>();
  return {
    update(e) {
      if (isByteProgress(e) && (e.done ?? 0) < (e.total ?? 0)) {
        const now = Date.now();
        if (now - (last.get(e.id) ?? 0) < intervalMs) return;
        last.set(e.id, now);
      }
      out.write(`${JSON.stringify({ progress: e })}\n`);
    },
    finish() {},
  };
}

/** Runs a long operation with a progress renderer on stderr, finishing it whatever happens. */
export async function withProgress<T>(
  ctx: CommandContext,
  run: (onProgress: (event: ProgressEvent) => void) => Promise<T>,
): Promise<T> {
  const progress = createProgress({
    out: ctx.stderr,
    mode: progressMode(ctx.stderr, ctx.globals.json),
  });
  try {
    return await run((e) => progress.update(e));
  } finally {
    progress.finish();
  }
}

import { type CommandContext, flag, type OptionSpec, type OptionValues } from './command.js';
import { printJson, printTable } from './output.js';

/**
 * How a listing command shows its items: an aligned table for humans, one id per line with
 * `--quiet` (for scripts: `strata images ls -q | xargs ...`), a JSON array with `--json`.
 */
export interface ListView<T> {
  /** What `--quiet` prints per item. */
  readonly id: (item: T) => string;
  readonly headers: readonly string[];
  readonly row: (item: T) => readonly string[];
  readonly json: (item: T) => unknown;
  /** Work only the table and JSON need (image sizes), skipped with `--quiet`. */
  readonly prepare?: () => Promise<void>;
}

/** The `-q, --quiet` option of a listing; `what` is what it prints (`names`, `digests`). */
export function quietOption(what: string): Readonly<Record<string, OptionSpec>> {
  return { quiet: { type: 'boolean', short: 'q', description: `print ${what} only` } };
}

/** Prints `items` as `--quiet`, `--json` or a table asks, in that order of precedence. */
export async function printList<T>(
  ctx: CommandContext,
  values: OptionValues,
  items: readonly T[],
  view: ListView<T>,
): Promise<number> {
  if (flag(values, 'quiet')) {
    for (const item of items) ctx.stdout.write(`${view.id(item)}\n`);
    return 0;
  }
  await view.prepare?.();
  if (ctx.globals.json) printJson(ctx.stdout, items.map(view.json));
  else printTable(ctx.stdout, view.headers, items.map(view.row));
  return 0;
}

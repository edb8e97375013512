import type { Readable, Writable } from 'node:stream';
import type { Strata } from '../strata/index.js';

/** Options every command accepts, before or after the command words. */
export interface Globals {
  readonly root?: string;
  readonly namespace?: string;
  /** Hold what the command creates under this lease (see `strata leases create`). */
  readonly lease?: string;
  readonly json: boolean;
  readonly debug: boolean;
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** Shown in help; for string options name the value, e.g. `--size N`. */
  readonly description: string;
  readonly value?: string;
}

export type OptionValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

export interface CommandContext {
  readonly globals: Globals;
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Fires on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** Opens the root once per run (lazily: `version` and `--help` never touch it). */
  open(): Promise<Strata>;
}

export interface Command {
  /** The command words, e.g. `content ls`. */
  readonly name: string;
  readonly summary: string;
  /** Arguments after the name, e.g. `REF --expected DIGEST [--size N] < FILE`. */
  readonly usage?: string;
  readonly description?: string;
  readonly options?: Readonly<Record<string, OptionSpec>>;
  /** Other names for the command words (`images list` for `images ls`). */
  readonly aliases?: readonly string[];
  /** Bounds on positional arguments; checked before `run`. */
  readonly args?: { readonly min?: number; readonly max?: number };
  run(
    ctx: CommandContext,
    positionals: readonly string[],
    values: OptionValues,
  ): Promise<number | undefined>;
}

/** Reads an option of type string. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Reads a repeatable string option. */
export function listOption(values: OptionValues, name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v;
  return typeof v === 'string' ? [v] : [];
}

export function flag(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

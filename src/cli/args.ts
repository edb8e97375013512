import { parseArgs } from 'node:util';
import type { Command, Globals, OptionValues } from './command.js';
import { UsageError } from './output.js';

const GLOBAL_VALUES: Readonly<Record<string, keyof Globals>> = {
  '--root': 'root',
  '--namespace': 'namespace',
  '-n': 'namespace',
  '--lease': 'lease',
};
const GLOBAL_FLAGS: Readonly<Record<string, 'json' | 'debug' | 'help'>> = {
  '--json': 'json',
  '--debug': 'debug',
  '--help': 'help',
  '-h': 'help',
};

export interface Parsed {
  readonly globals: Globals;
  readonly help: boolean;
  /** The command words and arguments with the global options taken out. */
  readonly rest: readonly string[];
}

/**
 * Takes the global options out of argv wherever they stand (`strata --json content ls` and
 * `strata content ls --json` alike); stops at `--`.
 */
export function extractGlobals(argv: readonly string[], env: NodeJS.ProcessEnv): Parsed {
  const rest: string[] = [];
  const values: { root?: string; namespace?: string; lease?: string } = {};
  const flags = { json: false, debug: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const valueKey = GLOBAL_VALUES[name];
    if (valueKey === 'root' || valueKey === 'namespace' || valueKey === 'lease') {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`option ${name} needs a value`);
      values[valueKey] = value;
      continue;
    }
    const flagKey = GLOBAL_FLAGS[arg];
    if (flagKey) {
      flags[flagKey] = true;
      continue;
    }
    rest.push(arg);
  }
  const root = values.root ?? env.STRATA_ROOT;
  const namespace = values.namespace ?? env.STRATA_NAMESPACE;
  const lease = values.lease ?? env.STRATA_LEASE;
  return {
    globals: {
      json: flags.json,
      debug: flags.debug,
      ...(root ? { root } : {}),
      ...(namespace ? { namespace } : {}),
      ...(lease ? { lease } : {}),
    },
    help: flags.help,
    rest,
  };
}

export interface Resolved {
  /** The command, or undefined when the words name only a group (`strata content`). */
  readonly command?: Command;
  /** The words that matched (a command name or a group prefix). */
  readonly words: readonly string[];
  readonly args: readonly string[];
}

/**
 * Finds the command whose name (or alias) is the longest run of leading words. Command
 * options may stand anywhere, before the command words too (`strata --hosts-dir D pull
 * REF`): an option that takes a value in some command has its value skipped while looking
 * for the words, and the command then parses every token that is not one of its words.
 */
export function resolveCommand(commands: readonly Command[], rest: readonly string[]): Resolved {
  const takesValue = valueOptions(commands);
  const lead: { word: string; at: number }[] = [];
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (token === '--') break;
    if (token.startsWith('-')) {
      if (!token.includes('=') && takesValue.has(token)) i++;
      if (lead.length > 0) break;
      continue;
    }
    if (lead.length > 0 && lead.at(-1)!.at !== i - 1) break; // words must be adjacent
    lead.push({ word: token, at: i });
  }
  const words = lead.map((l) => l.word);
  for (let n = words.length; n > 0; n--) {
    const name = words.slice(0, n).join(' ');
    const command = commands.find((c) => c.name === name || c.aliases?.includes(name));
    if (command) {
      const args = [...rest];
      args.splice(lead[0]!.at, n);
      return { command, words: words.slice(0, n), args };
    }
  }
  for (let n = words.length; n > 0; n--) {
    const prefix = `${words.slice(0, n).join(' ')} `;
    if (commands.some((c) => c.name.startsWith(prefix)))
      return { words: words.slice(0, n), args: [] };
  }
  return { words: words.slice(0, 1), args: [] };
}

/** `--name` and `-x` spellings of every option that takes a value, in any command. */
function valueOptions(commands: readonly Command[]): ReadonlySet<string> {
  const names = new Set<string>();
  for (const c of commands) {
    for (const [name, spec] of Object.entries(c.options ?? {})) {
      if (spec.type !== 'string') continue;
      names.add(`--${name}`);
      if (spec.short) names.add(`-${spec.short}`);
    }
  }
  return names;
}

/** Parses a command's own options strictly; unknown options are usage errors. */
export function parseCommandArgs(
  command: Command,
  args: readonly string[],
): { positionals: string[]; values: OptionValues } {
  const options = Object.fromEntries(
    Object.entries(command.options ?? {}).map(([name, spec]) => [
      name,
      {
        type: spec.type,
        ...(spec.short ? { short: spec.short } : {}),
        ...(spec.multiple ? { multiple: true } : {}),
      },
    ]),
  );
  try {
    const { positionals, values } = parseArgs({
      args: [...args],
      options,
      allowPositionals: true,
      strict: true,
    });
    const { min = 0, max = Number.POSITIVE_INFINITY } = command.args ?? {};
    if (positionals.length < min) throw new UsageError(`${command.name}: missing arguments`);
    if (positionals.length > max) {
      throw new UsageError(
        `${command.name}: unexpected argument ${JSON.stringify(positionals[max])}`,
      );
    }
    return { positionals, values: values as OptionValues };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${command.name}: ${(err as Error).message.split('\n')[0]}`);
  }
}

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

/** Finds the command whose name (or alias) is the longest prefix of the leading words. */
export function resolveCommand(commands: readonly Command[], rest: readonly string[]): Resolved {
  const lead: string[] = [];
  for (const token of rest) {
    if (token.startsWith('-')) break;
    lead.push(token);
  }
  for (let n = lead.length; n > 0; n--) {
    const words = lead.slice(0, n).join(' ');
    const command = commands.find((c) => c.name === words || c.aliases?.includes(words));
    if (command) {
      const args = [...rest];
      args.splice(rest.indexOf(lead[0]!), n);
      return { command, words: lead.slice(0, n), args };
    }
  }
  for (let n = lead.length; n > 0; n--) {
    const prefix = `${lead.slice(0, n).join(' ')} `;
    if (commands.some((c) => c.name.startsWith(prefix)))
      return { words: lead.slice(0, n), args: [] };
  }
  return { words: lead.slice(0, 1), args: [] };
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

import type { Readable, Writable } from 'node:stream';
import { StrataError } from '../errors.js';
import { openStrata, type Strata } from '../strata/index.js';
import { extractGlobals, parseCommandArgs, resolveCommand } from './args.js';
import type { Command, CommandContext } from './command.js';
import { commandHelp, groupHelp, mainHelp } from './help.js';
import { UsageError } from './output.js';

export interface RunOptions {
  readonly commands: readonly Command[];
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly signal: AbortSignal;
}

/**
 * Runs one CLI invocation and returns its exit code: 0 success, 1 failure, 2 usage error,
 * 130 interrupted. Errors are one line on stderr (a JSON object with --json); stack traces
 * only with --debug.
 */
export async function runCli(options: RunOptions): Promise<number> {
  const { commands, stdout, stderr } = options;
  let debug = options.argv.includes('--debug');
  let json = options.argv.includes('--json');
  let strata: Strata | undefined;
  try {
    const parsed = extractGlobals(options.argv, options.env);
    debug = parsed.globals.debug;
    json = parsed.globals.json;
    const resolved = resolveCommand(commands, parsed.rest);
    if (!resolved.command) {
      const group = resolved.words.join(' ');
      if (group === '') {
        if (parsed.rest.length > 0 && !parsed.help) {
          // Options but no command words: say so rather than print the whole help.
          throw new UsageError(
            `no command given, only options (${parsed.rest[0]}...): see strata --help`,
          );
        }
        stdout.write(mainHelp(commands));
        return parsed.help ? 0 : 2;
      }
      if (commands.some((c) => c.name.startsWith(`${group} `))) {
        stdout.write(groupHelp(group, commands));
        return parsed.help ? 0 : 2;
      }
      throw new UsageError(`unknown command ${JSON.stringify(group)} (see strata --help)`);
    }
    const command = resolved.command;
    if (parsed.help) {
      stdout.write(commandHelp(command));
      return 0;
    }
    const { positionals, values } = parseCommandArgs(command, resolved.args);
    const ctx: CommandContext = {
      globals: parsed.globals,
      stdin: options.stdin,
      stdout,
      stderr,
      signal: options.signal,
      open: async () => {
        strata ??= await openStrata({
          ...(parsed.globals.root ? { root: parsed.globals.root } : {}),
          ...(parsed.globals.namespace ? { namespace: parsed.globals.namespace } : {}),
        });
        const lease = parsed.globals.lease;
        if (lease === undefined) return strata;
        strata.leases.get(lease); // NotFound: say so before any work
        return strata.withLease(lease);
      },
    };
    return (await command.run(ctx, positionals, values)) ?? 0;
  } catch (err) {
    return report(err, { stderr, debug, json, aborted: options.signal.aborted });
  } finally {
    strata?.close();
  }
}

function report(
  err: unknown,
  o: { stderr: Writable; debug: boolean; json: boolean; aborted: boolean },
): number {
  const usage = err instanceof UsageError;
  const code = err instanceof StrataError ? err.code : usage ? 'Usage' : 'Internal';
  const message = err instanceof Error ? err.message : String(err);
  if (o.json) o.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else o.stderr.write(`strata: ${message}\n`);
  if (o.debug && err instanceof Error && err.stack) o.stderr.write(`${err.stack}\n`);
  if (o.aborted || code === 'Aborted') return 130;
  return usage ? 2 : 1;
}

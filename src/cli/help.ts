import type { Command } from './command.js';

const GLOBAL_HELP = `Global options (before or after the command):
  --root DIR        the strata root (env STRATA_ROOT; default /var/lib/strata as root,
                    else $XDG_DATA_HOME/strata)
  -n, --namespace NS  the namespace (env STRATA_NAMESPACE; default "default")
  --lease ID        hold what the command creates under lease ID until it is removed
                    (env STRATA_LEASE; see strata leases create)
  --json            machine-readable output
  --debug           stack traces on errors
  -h, --help        help for any command`;

export function mainHelp(commands: readonly Command[]): string {
  return `strata: OCI images and snapshots without a daemon

Usage: strata [global options] <command> [arguments]

Commands:
${commandList(commands)}

${GLOBAL_HELP}

Run "strata <command> --help" for a command's arguments and options.
`;
}

export function groupHelp(group: string, commands: readonly Command[]): string {
  const members = commands.filter((c) => c.name.startsWith(`${group} `));
  return `Usage: strata ${group} <command> [arguments]

Commands:
${commandList(members)}

Run "strata ${group} <command> --help" for details.
`;
}

export function commandHelp(command: Command): string {
  const lines = [
    `Usage: strata ${command.name}${command.usage ? ` ${command.usage}` : ''}`,
    '',
    command.summary,
  ];
  if (command.description) lines.push('', command.description);
  if (command.aliases?.length)
    lines.push('', `Aliases: ${command.aliases.map((a) => `strata ${a}`).join(', ')}`);
  const options = Object.entries(command.options ?? {});
  if (options.length > 0) {
    lines.push('', 'Options:');
    const shown = options.map(([name, spec]) => {
      const short = spec.short ? `-${spec.short}, ` : '';
      const value = spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : '';
      return [`  ${short}--${name}${value}`, spec.description] as const;
    });
    const width = Math.max(...shown.map(([flag]) => flag.length));
    for (const [flagText, description] of shown)
      lines.push(`${flagText.padEnd(width)}   ${description}`);
  }
  lines.push('', GLOBAL_HELP);
  return `${lines.join('\n')}\n`;
}

function commandList(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return commands.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}`).join('\n');
}

import { describe, expect, it } from 'vitest';
import { resolveCommand } from '../../src/cli/args.js';
import type { Command } from '../../src/cli/command.js';

const command = (name: string, options: Command['options'] = {}): Command => ({
  name,
  summary: name,
  options,
  run: async () => 0,
});
const commands = [
  command('pull', {
    'hosts-dir': { type: 'string', description: '' },
    'no-unpack': { type: 'boolean', description: '' },
  }),
  command('images ls', { quiet: { type: 'boolean', short: 'q', description: '' } }),
  command('content fetch', { platform: { type: 'string', description: '' } }),
];

describe('resolveCommand: options in any position', () => {
  it.each([
    [['pull', 'REF'], 'pull', ['REF']],
    [['--hosts-dir', 'D', 'pull', 'REF'], 'pull', ['--hosts-dir', 'D', 'REF']],
    [['--hosts-dir=D', 'pull', 'REF'], 'pull', ['--hosts-dir=D', 'REF']],
    [['--no-unpack', 'pull', 'REF'], 'pull', ['--no-unpack', 'REF']],
    [['-q', 'images', 'ls'], 'images ls', ['-q']],
    // A value that looks like a command word is still the option's value.
    [
      ['--platform', 'pull', 'content', 'fetch', 'REF'],
      'content fetch',
      ['--platform', 'pull', 'REF'],
    ],
    [['pull', '--hosts-dir', 'D', 'REF'], 'pull', ['--hosts-dir', 'D', 'REF']],
  ])('%j → %s %j', (argv, name, args) => {
    const r = resolveCommand(commands, argv);
    expect(r.command?.name).toBe(name);
    expect(r.args).toEqual(args);
  });

  it('finds a group, or nothing, when the words name no command', () => {
    expect(resolveCommand(commands, ['images']).command).toBeUndefined();
    expect(resolveCommand(commands, ['images']).words).toEqual(['images']);
    expect(resolveCommand(commands, ['--hosts-dir', 'D']).words).toEqual([]);
  });
});

import { fsck } from '../../fsck/index.js';
import { type Command, flag } from '../command.js';
import { printJson } from '../output.js';

export const fsckCommand: Command = {
  name: 'fsck',
  summary: 'Check the root: blobs re-hashed, records against the disk and back; --repair cleans',
  usage: '[--repair] [--no-verify]',
  description:
    'Errors are records pointing at missing or corrupt data; garbage is what crashes or\n' +
    'interrupted operations left that nothing refers to (consistent: --repair or gc removes\n' +
    'it); resumable downloads are listed. Exits 0 when no error remains, 1 otherwise.',
  options: {
    repair: { type: 'boolean', description: 'remove the garbage found (safe while others run)' },
    'no-verify': { type: 'boolean', description: 'do not re-hash every blob' },
  },
  args: { max: 0 },
  async run(ctx, _args, values) {
    const strata = await ctx.open();
    const r = await fsck(strata, {
      repair: flag(values, 'repair'),
      noVerify: flag(values, 'no-verify'),
      signal: ctx.signal,
    });
    if (ctx.globals.json) printJson(ctx.stdout, r);
    else {
      for (const f of r.findings) {
        const note = f.repaired ? ' (repaired)' : '';
        ctx.stdout.write(`${f.severity}: ${f.subject}: ${f.message}${note}\n`);
      }
      const { blobs, records, snapshots } = r.checked;
      ctx.stdout.write(
        `${r.consistent ? 'consistent' : 'INCONSISTENT'}: checked ${blobs} blobs, ${records} records, ${snapshots} snapshots\n`,
      );
    }
    return r.consistent ? 0 : 1;
  },
};

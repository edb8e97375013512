import { collectGarbage, type GcReport } from '../../gc/index.js';
import { type Command, flag } from '../command.js';
import { formatSize, printJson } from '../output.js';

function report(r: GcReport): string {
  const verb = r.dryRun ? 'would free' : 'freed';
  return [
    `${verb}: ${r.content.blobs} blobs (${formatSize(r.content.bytes)}), ${r.snapshots.records} snapshots (${formatSize(r.snapshots.bytes)}, ${r.snapshots.inodes} inodes), ${r.ingests.dirs} ingests (${formatSize(r.ingests.bytes)})`,
    `records removed: ${r.content.records} content, ${r.snapshots.records} snapshots, ${r.ingests.records} ingests, ${r.leases} expired leases`,
  ].join('\n');
}

const gc: Command = {
  name: 'gc',
  summary: 'Delete what no image, live lease or gc.root label refers to (all namespaces)',
  usage: '[--dry-run]',
  description:
    'Mark and sweep as containerd does: roots are images, unexpired leases and what they hold,\n' +
    'records labelled containerd.io/gc.root and unexpired ingests (interrupted downloads stay\n' +
    'resumable for 24 h); references follow containerd.io/gc.ref.* labels and snapshot parents.\n' +
    'Safe while other strata processes pull or unpack: their work is held by leases.',
  options: {
    'dry-run': { type: 'boolean', description: 'report what would be freed; delete nothing' },
  },
  args: { max: 0 },
  async run(ctx, _args, values) {
    const strata = await ctx.open();
    const r = await collectGarbage(strata, { dryRun: flag(values, 'dry-run'), signal: ctx.signal });
    if (ctx.globals.json) printJson(ctx.stdout, r);
    else ctx.stdout.write(`${report(r)}\n`);
    return 0;
  },
};

const prune: Command = {
  name: 'prune',
  summary: 'gc, and also discard resumable downloads no operation holds',
  usage: '[--dry-run]',
  description:
    'Reclaims everything not needed by an image or by an operation in flight: unreferenced\n' +
    'content and snapshots (as gc), plus every ingest that no live lease holds, however recent.',
  options: {
    'dry-run': { type: 'boolean', description: 'report what would be freed; delete nothing' },
  },
  args: { max: 0 },
  async run(ctx, _args, values) {
    const strata = await ctx.open();
    const r = await collectGarbage(strata, {
      dryRun: flag(values, 'dry-run'),
      ingests: 'all',
      signal: ctx.signal,
    });
    if (ctx.globals.json) printJson(ctx.stdout, r);
    else ctx.stdout.write(`${report(r)}\n`);
    return 0;
  },
};

export const gcCommands: readonly Command[] = [gc, prune];

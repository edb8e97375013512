import { collectGarbage, type GcReport } from '../../gc/index.js';
import type { Lease } from '../../metadata/index.js';
import { type Command, flag, listOption, stringOption } from '../command.js';
import {
  formatAge,
  formatLabels,
  formatSize,
  parseLabelArgs,
  printJson,
  printTable,
  UsageError,
} from '../output.js';

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

const leaseJson = (l: Lease) => ({
  id: l.id,
  labels: l.labels,
  createdAt: l.createdAt,
  expiresAt: l.expiresAt ?? null,
});

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Go-style durations: `24h`, `1h30m`, `90s`, `2d`. @throws UsageError */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new UsageError(`duration ${JSON.stringify(text)}: expected e.g. 24h, 1h30m, 90s`);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]!]!, 0);
}

const leasesLs: Command = {
  name: 'leases ls',
  aliases: ['leases list'],
  summary: 'List leases (what keeps in-flight work from garbage collection)',
  usage: '[FILTER...]',
  options: { quiet: { type: 'boolean', short: 'q', description: 'print ids only' } },
  async run(ctx, filters, values) {
    const leases = (await ctx.open()).leases.list(filters);
    if (ctx.globals.json) printJson(ctx.stdout, leases.map(leaseJson));
    else if (flag(values, 'quiet')) for (const l of leases) ctx.stdout.write(`${l.id}\n`);
    else
      printTable(
        ctx.stdout,
        ['ID', 'CREATED', 'EXPIRES', 'LABELS'],
        leases.map((l) => [
          l.id,
          formatAge(l.createdAt),
          l.expiresAt ? l.expiresAt.toISOString() : 'never',
          formatLabels(l.labels),
        ]),
      );
    return 0;
  },
};

const leasesCreate: Command = {
  name: 'leases create',
  summary: 'Create a lease (holds what is created under it from gc)',
  usage: '[--id ID] [--expires D] [--label K=V]...',
  options: {
    id: { type: 'string', value: 'ID', description: 'the lease id (default: random)' },
    expires: {
      type: 'string',
      value: 'D',
      description: 'expire after D (e.g. 24h, 30m; default 24h; 0: never)',
    },
    label: { type: 'string', multiple: true, value: 'K=V', description: 'a label (repeatable)' },
  },
  args: { max: 0 },
  async run(ctx, _args, values) {
    const expires = stringOption(values, 'expires') ?? '24h';
    const id = stringOption(values, 'id');
    const lease = (await ctx.open()).leases.create({
      ...(id ? { id } : {}),
      ...(expires === '0' ? {} : { expiresInMs: parseDuration(expires) }),
      labels: parseLabelArgs(listOption(values, 'label')),
    });
    if (ctx.globals.json) printJson(ctx.stdout, leaseJson(lease));
    else ctx.stdout.write(`${lease.id}\n`);
    return 0;
  },
};

const leasesRm: Command = {
  name: 'leases rm',
  aliases: ['leases delete', 'leases remove'],
  summary: 'Remove leases (what they held is left to gc)',
  usage: 'ID...',
  args: { min: 1 },
  async run(ctx, ids) {
    const store = (await ctx.open()).leases;
    for (const id of ids) {
      store.delete(id);
      if (!ctx.globals.json) ctx.stdout.write(`${id}\n`);
    }
    if (ctx.globals.json) printJson(ctx.stdout, { removed: ids });
    return 0;
  },
};

export const gcCommands: readonly Command[] = [gc, prune, leasesLs, leasesCreate, leasesRm];

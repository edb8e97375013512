/** `strata leases ls|create|rm`: containerd's leases, what keeps in-flight work from gc. */

import type { Lease } from '../../metadata/index.js';
import { type Command, listOption, stringOption } from '../command.js';
import { printList, quietOption } from '../list-output.js';
import { parseDuration } from '../options.js';
import { formatAge, formatLabels, parseLabelArgs, printJson } from '../output.js';

const leaseJson = (l: Lease) => ({
  id: l.id,
  labels: l.labels,
  createdAt: l.createdAt,
  expiresAt: l.expiresAt ?? null,
});

const leasesLs: Command = {
  name: 'leases ls',
  aliases: ['leases list'],
  summary: 'List leases (what keeps in-flight work from garbage collection)',
  usage: '[FILTER...]',
  options: quietOption('ids'),
  async run(ctx, filters, values) {
    return printList(ctx, values, (await ctx.open()).leases.list(filters), {
      id: (l) => l.id,
      headers: ['ID', 'CREATED', 'EXPIRES', 'LABELS'],
      row: (l) => [
        l.id,
        formatAge(l.createdAt),
        l.expiresAt ? l.expiresAt.toISOString() : 'never',
        formatLabels(l.labels),
      ],
      json: leaseJson,
    });
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

export const leaseCommands: readonly Command[] = [leasesLs, leasesCreate, leasesRm];

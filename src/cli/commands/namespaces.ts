import type { Namespace } from '../../metadata/index.js';
import type { Command } from '../command.js';
import { printList, quietOption } from '../list-output.js';
import { formatLabels, parseLabelArgs, printJson } from '../output.js';

const json = (n: Namespace) => ({
  name: n.name,
  labels: n.labels,
  createdAt: n.createdAt,
  updatedAt: n.updatedAt,
});

const aliases = (verbs: string[]) =>
  ['namespace', 'ns'].flatMap((group) => verbs.map((v) => `${group} ${v}`));

const ls: Command = {
  name: 'namespaces ls',
  aliases: ['namespaces list', ...aliases(['ls', 'list'])],
  summary: 'List namespaces',
  options: quietOption('names'),
  async run(ctx, _args, values) {
    return printList(ctx, values, (await ctx.open()).namespaces.list(), {
      id: (n) => n.name,
      headers: ['NAME', 'LABELS'],
      row: (n) => [n.name, formatLabels(n.labels)],
      json,
    });
  },
};

const create: Command = {
  name: 'namespaces create',
  aliases: aliases(['create']),
  summary: 'Create a namespace',
  usage: 'NAME [KEY=VALUE...]',
  args: { min: 1 },
  async run(ctx, [name, ...labels]) {
    const created = (await ctx.open()).namespaces.create(name!, parseLabelArgs(labels));
    if (ctx.globals.json) printJson(ctx.stdout, json(created));
    else ctx.stdout.write(`${created.name}\n`);
    return 0;
  },
};

const label: Command = {
  name: 'namespaces label',
  aliases: aliases(['label']),
  summary: "Set a namespace's labels (KEY= removes one)",
  usage: 'NAME KEY=VALUE...',
  args: { min: 2 },
  async run(ctx, [name, ...pairs]) {
    const store = (await ctx.open()).namespaces;
    const next: Record<string, string> = { ...store.get(name!).labels };
    for (const [k, v] of Object.entries(parseLabelArgs(pairs))) {
      if (v === '') delete next[k];
      else next[k] = v;
    }
    const updated = store.setLabels(name!, next);
    if (ctx.globals.json) printJson(ctx.stdout, json(updated));
    else ctx.stdout.write(`${updated.name} ${formatLabels(updated.labels)}\n`);
    return 0;
  },
};

const rm: Command = {
  name: 'namespaces rm',
  aliases: ['namespaces remove', ...aliases(['rm', 'remove'])],
  summary: 'Remove empty namespaces',
  usage: 'NAME...',
  args: { min: 1 },
  async run(ctx, names) {
    const store = (await ctx.open()).namespaces;
    for (const name of names) {
      store.remove(name);
      if (!ctx.globals.json) ctx.stdout.write(`${name}\n`);
    }
    if (ctx.globals.json) printJson(ctx.stdout, { removed: names });
    return 0;
  },
};

export const namespaceCommands: readonly Command[] = [ls, create, label, rm];

import {
  type Info,
  type Mount,
  mountAll,
  parseSnapshotterName,
  type Snapshotter,
  unmountAll,
} from '../../snapshots/index.js';
import {
  type Command,
  type CommandContext,
  flag,
  listOption,
  type OptionSpec,
  type OptionValues,
  stringOption,
} from '../command.js';
import { printList, quietOption } from '../list-output.js';
import { snapshotterOption } from '../options.js';
import {
  formatAge,
  formatLabels,
  formatSize,
  parseLabelArgs,
  printJson,
  printTable,
} from '../output.js';

/** Opens the snapshotter `--snapshotter` names, else the root's default. */
export async function openSnapshotterFor(
  ctx: CommandContext,
  values: OptionValues,
): Promise<Snapshotter> {
  const asked = stringOption(values, 'snapshotter');
  return (await ctx.open()).snapshotter(
    asked === undefined ? undefined : parseSnapshotterName(asked),
  );
}

const labelOption: Readonly<Record<string, OptionSpec>> = {
  label: {
    type: 'string',
    multiple: true,
    value: 'KEY=VALUE',
    description: 'a label for the snapshot (repeatable)',
  },
};

const labelsOf = (values: OptionValues) => parseLabelArgs(listOption(values, 'label'));

const infoJson = (i: Info) => ({
  name: i.name,
  parent: i.parent ?? null,
  kind: i.kind,
  labels: i.labels,
  createdAt: i.createdAt,
  updatedAt: i.updatedAt,
});

async function collect(sn: Snapshotter, filters: readonly string[], signal: AbortSignal) {
  const infos: Info[] = [];
  await sn.walk(
    (i) => {
      infos.push(i);
    },
    filters,
    { signal },
  );
  return infos;
}

const ls: Command = {
  name: 'snapshots ls',
  aliases: ['snapshots list'],
  summary: 'List snapshots',
  usage: '[FILTER...]',
  description:
    'Filters use containerd syntax: name, parent, kind (active|view|committed), labels.KEY.',
  options: {
    ...snapshotterOption,
    ...quietOption('keys'),
  },
  async run(ctx, filters, values) {
    const infos = await collect(await openSnapshotterFor(ctx, values), filters, ctx.signal);
    return printList(ctx, values, infos, {
      id: (i) => i.name,
      headers: ['KEY', 'PARENT', 'KIND', 'AGE', 'LABELS'],
      row: (i) => [i.name, i.parent ?? '', i.kind, formatAge(i.createdAt), formatLabels(i.labels)],
      json: infoJson,
    });
  },
};

const tree: Command = {
  name: 'snapshots tree',
  summary: 'Show snapshots as a tree of parents and children',
  options: snapshotterOption,
  async run(ctx, _args, values) {
    const infos = await collect(await openSnapshotterFor(ctx, values), [], ctx.signal);
    const children = new Map<string, Info[]>();
    for (const i of infos) {
      const siblings = children.get(i.parent ?? '') ?? [];
      siblings.push(i);
      children.set(i.parent ?? '', siblings);
    }
    if (ctx.globals.json) {
      const node = (i: Info): unknown => ({
        ...infoJson(i),
        children: (children.get(i.name) ?? []).map(node),
      });
      printJson(ctx.stdout, (children.get('') ?? []).map(node));
      return 0;
    }
    const print = (i: Info, depth: number) => {
      ctx.stdout.write(`${'  '.repeat(depth)}\\_ ${i.name} (${i.kind})\n`);
      for (const c of children.get(i.name) ?? []) print(c, depth + 1);
    };
    for (const root of children.get('') ?? []) print(root, 0);
    return 0;
  },
};

const info: Command = {
  name: 'snapshots info',
  summary: "Show a snapshot's kind, parent, times and labels (JSON)",
  usage: 'KEY',
  args: { min: 1, max: 1 },
  options: snapshotterOption,
  async run(ctx, [key], values) {
    const sn = await openSnapshotterFor(ctx, values);
    printJson(ctx.stdout, infoJson(await sn.stat(key!, { signal: ctx.signal })));
    return 0;
  },
};

const usage: Command = {
  name: 'snapshots usage',
  aliases: ['snapshots du'],
  summary: 'Show the disk used by snapshots, parents excluded',
  usage: '[KEY...]',
  options: snapshotterOption,
  async run(ctx, keys, values) {
    const sn = await openSnapshotterFor(ctx, values);
    const names = keys.length > 0 ? keys : (await collect(sn, [], ctx.signal)).map((i) => i.name);
    const rows: { key: string; size: number; inodes: number }[] = [];
    for (const key of names) rows.push({ key, ...(await sn.usage(key, { signal: ctx.signal })) });
    if (ctx.globals.json) printJson(ctx.stdout, rows);
    else
      printTable(
        ctx.stdout,
        ['KEY', 'SIZE', 'INODES'],
        rows.map((r) => [r.key, formatSize(r.size), String(r.inodes)]),
      );
    return 0;
  },
};

function printMounts(ctx: CommandContext, key: string, mounts: readonly Mount[], target?: string) {
  if (ctx.globals.json) {
    printJson(ctx.stdout, { key, mounts });
    return;
  }
  // One mount(8) command per mount, as `ctr snapshots mounts` prints them.
  for (const m of mounts) {
    const options = m.options.length > 0 ? ` -o ${m.options.join(',')}` : '';
    ctx.stdout.write(`mount -t ${m.type} ${m.source} ${target ?? '<target>'}${options}\n`);
  }
}

const create = (kind: 'prepare' | 'view'): Command => ({
  name: `snapshots ${kind}`,
  summary:
    kind === 'prepare'
      ? 'Create an active (writable) snapshot on a committed parent'
      : 'Create a read-only view of a committed snapshot',
  usage: 'KEY [PARENT]',
  description: 'Prints the mount(8) commands that mount it (the mounts as JSON with --json).',
  args: { min: 1, max: 2 },
  options: { ...snapshotterOption, ...labelOption },
  async run(ctx, [key, parent], values) {
    const sn = await openSnapshotterFor(ctx, values);
    const options = { labels: labelsOf(values), signal: ctx.signal };
    const mounts =
      kind === 'prepare'
        ? await sn.prepare(key!, parent, options)
        : await sn.view(key!, parent, options);
    printMounts(ctx, key!, mounts);
    return 0;
  },
});

const commit: Command = {
  name: 'snapshots commit',
  summary: 'Commit an active snapshot under a name (the active key goes away)',
  usage: 'NAME KEY',
  args: { min: 2, max: 2 },
  options: { ...snapshotterOption, ...labelOption },
  async run(ctx, [name, key], values) {
    const sn = await openSnapshotterFor(ctx, values);
    await sn.commit(name!, key!, { labels: labelsOf(values), signal: ctx.signal });
    if (ctx.globals.json) printJson(ctx.stdout, infoJson(await sn.stat(name!)));
    else ctx.stdout.write(`${name}\n`);
    return 0;
  },
};

const rm: Command = {
  name: 'snapshots rm',
  aliases: ['snapshots remove', 'snapshots delete', 'snapshots del'],
  summary: 'Remove snapshots (children first)',
  usage: 'KEY...',
  args: { min: 1 },
  options: snapshotterOption,
  async run(ctx, keys, values) {
    const sn = await openSnapshotterFor(ctx, values);
    for (const key of keys) {
      await sn.remove(key, { signal: ctx.signal });
      if (!ctx.globals.json) ctx.stdout.write(`${key}\n`);
    }
    if (ctx.globals.json) printJson(ctx.stdout, { removed: keys });
    return 0;
  },
};

const label: Command = {
  name: 'snapshots label',
  summary: 'Set labels on a snapshot (KEY= removes a label)',
  usage: 'KEY LABEL=VALUE...',
  args: { min: 2 },
  options: snapshotterOption,
  async run(ctx, [key, ...pairs], values) {
    const sn = await openSnapshotterFor(ctx, values);
    const labels = parseLabelArgs(pairs);
    const current = await sn.stat(key!, { signal: ctx.signal });
    const updated = await sn.update(
      { ...current, labels },
      Object.keys(labels).map((k) => `labels.${k}`),
      { signal: ctx.signal },
    );
    if (ctx.globals.json) printJson(ctx.stdout, infoJson(updated));
    else ctx.stdout.write(`${updated.name} ${formatLabels(updated.labels)}\n`);
    return 0;
  },
};

const mounts: Command = {
  name: 'snapshots mounts',
  summary: 'Print the mount(8) commands of an active snapshot or view',
  usage: 'KEY [TARGET]',
  args: { min: 1, max: 2 },
  options: snapshotterOption,
  async run(ctx, [key, target], values) {
    const sn = await openSnapshotterFor(ctx, values);
    printMounts(ctx, key!, await sn.mounts(key!, { signal: ctx.signal }), target);
    return 0;
  },
};

const mount: Command = {
  name: 'snapshots mount',
  summary: 'Mount an active snapshot or view on a directory (needs root)',
  usage: 'KEY DIR',
  args: { min: 2, max: 2 },
  options: {
    ...snapshotterOption,
    readonly: { type: 'boolean', description: 'mount read-only whatever the snapshot kind' },
  },
  async run(ctx, [key, dir], values) {
    const sn = await openSnapshotterFor(ctx, values);
    await mountAll(await sn.mounts(key!, { signal: ctx.signal }), dir!, {
      readonly: flag(values, 'readonly'),
    });
    if (ctx.globals.json) printJson(ctx.stdout, { key, target: dir });
    else ctx.stdout.write(`${dir}\n`);
    return 0;
  },
};

const unmount: Command = {
  name: 'snapshots unmount',
  aliases: ['snapshots umount'],
  summary: 'Unmount everything mounted on a directory',
  usage: 'DIR',
  args: { min: 1, max: 1 },
  options: { lazy: { type: 'boolean', description: 'detach a busy mount (MNT_DETACH)' } },
  async run(ctx, [dir], values) {
    await unmountAll(dir!, { lazy: flag(values, 'lazy'), signal: ctx.signal });
    return 0;
  },
};

const cleanup: Command = {
  name: 'snapshots cleanup',
  summary: 'Delete snapshot files that crashes left behind (safe while others run)',
  options: snapshotterOption,
  async run(ctx, _args, values) {
    await (await openSnapshotterFor(ctx, values)).cleanup({ signal: ctx.signal });
    return 0;
  },
};

export const snapshotCommands: readonly Command[] = [
  ls,
  tree,
  info,
  usage,
  create('prepare'),
  create('view'),
  commit,
  rm,
  label,
  mounts,
  mount,
  unmount,
  cleanup,
];

import { readFile } from 'node:fs/promises';
import { parsePreloadList, preloadApply, preloadCreate } from '../../archive/index.js';
import { fromSystem } from '../../errors.js';
import { type Command, type CommandContext, flag, listOption, stringOption } from '../command.js';
import {
  fetchSettings,
  REGISTRY_OPTIONS,
  snapshotterName,
  snapshotterOption,
  UNPACK_OPTIONS,
  unpackSettings,
} from '../options.js';
import { formatSize, printJson, printTable, UsageError } from '../output.js';
import { withProgress } from '../progress.js';
import { printImported, stdoutSink } from './archive-output.js';

/** `strata preload create|apply`: one bundle file carries an image set to another root. */

async function readList(ctx: CommandContext, from: string): Promise<string> {
  if (from === '-') {
    const chunks: Buffer[] = [];
    for await (const c of ctx.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(from, 'utf8');
  } catch (err) {
    throw fromSystem(err, `preload list ${from}`);
  }
}

const create: Command = {
  name: 'preload create',
  summary: 'Pull every image of a list and write them into one bundle archive',
  usage: 'BUNDLE|- --from LIST [--platform P]... [--all-platforms]',
  description:
    'LIST has one reference per line; # starts a comment (--from - reads stdin); BUNDLE -\n' +
    'writes the bundle to stdout. Blobs already in the root are not fetched again, so\n' +
    're-running is cheap. The bundle is an OCI layout tar (containerd and skopeo read it\n' +
    'too); carry it to the other machine and run `strata preload apply BUNDLE` there.\n' +
    'Several --platform keep each platform present.',
  options: {
    from: { type: 'string', value: 'LIST', description: 'the list of references' },
    platform: {
      type: 'string',
      multiple: true,
      value: 'OS/ARCH[/VARIANT]',
      description: 'a platform to fetch (repeatable; default: this host)',
    },
    'all-platforms': { type: 'boolean', description: 'fetch every platform of an index' },
    'max-concurrent-downloads': {
      type: 'string',
      value: 'N',
      description: 'blobs downloaded at once (default 3)',
    },
    ...REGISTRY_OPTIONS,
  },
  args: { min: 1, max: 1 },
  async run(ctx, [bundle], values) {
    const from = stringOption(values, 'from');
    if (from === undefined) throw new UsageError('preload create: --from LIST is required');
    const platforms = listOption(values, 'platform');
    const all = flag(values, 'all-platforms');
    if (platforms.length > 0 && all) {
      throw new UsageError('preload create: --platform and --all-platforms exclude each other');
    }
    const {
      signal: _,
      platform: _p,
      allPlatforms: _a,
      ...fetch
    } = fetchSettings(ctx, 'preload create', values);
    const refs = parsePreloadList(await readList(ctx, from), from);
    const strata = await ctx.open();
    const result = await withProgress(ctx, (onProgress) =>
      preloadCreate(strata, refs, bundle === '-' ? stdoutSink(ctx) : bundle!, {
        ...(all ? { allPlatforms: true } : { platforms }),
        fetch,
        signal: ctx.signal,
        onProgress,
        onWarning: (message) => ctx.stderr.write(`strata: warning: ${message}\n`),
      }),
    );
    if (bundle === '-') return 0; // stdout holds the bundle
    if (ctx.globals.json) {
      printJson(ctx.stdout, { bundle, ...result });
      return 0;
    }
    printTable(
      ctx.stdout,
      ['REF', 'DIGEST'],
      result.images.map((i) => [i.name, i.digest]),
    );
    ctx.stdout.write(
      `${bundle}: ${result.images.length} images, ${result.blobs} blobs, ${formatSize(result.bytes)}\n`,
    );
    return 0;
  },
};

const apply: Command = {
  name: 'preload apply',
  summary: 'Import a bundle into a root and unpack it (resumable; a second run changes nothing)',
  usage: 'BUNDLE|- [--root DIR] [--no-unpack] [--platform P] [--snapshotter overlay|native]',
  description:
    'Records every image of the bundle and unpacks each for --platform (default: this host).\n' +
    'Use --root to fill another root (a mounted disk image for another machine). An\n' +
    'interrupted apply resumes when run again; applying twice reports every image unchanged.',
  options: {
    unpack: { type: 'boolean', description: 'unpack the images (the default)' },
    'no-unpack': { type: 'boolean', description: 'only import; do not unpack' },
    platform: {
      type: 'string',
      value: 'OS/ARCH[/VARIANT]',
      description: 'the platform to unpack (default: this host)',
    },
    ...snapshotterOption,
    ...UNPACK_OPTIONS,
  },
  args: { min: 1, max: 1 },
  async run(ctx, [bundle], values) {
    if (flag(values, 'unpack') && flag(values, 'no-unpack')) {
      throw new UsageError('preload apply: --unpack and --no-unpack exclude each other');
    }
    const platform = stringOption(values, 'platform');
    const snapshotter = snapshotterName(values);
    const strata = await ctx.open();
    const imported = await withProgress(ctx, (onProgress) =>
      preloadApply(strata, bundle === '-' ? ctx.stdin : bundle!, {
        unpack: !flag(values, 'no-unpack'),
        ...(platform !== undefined ? { platform } : {}),
        ...(snapshotter ? { snapshotter } : {}),
        ...unpackSettings('preload apply', values),
        signal: ctx.signal,
        onProgress,
        onWarning: (message) => ctx.stderr.write(`strata: warning: ${message}\n`),
      }),
    );
    printImported(ctx, imported);
    return 0;
  },
};

export const preloadCommands: readonly Command[] = [create, apply];

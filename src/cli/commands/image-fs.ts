import { join } from 'node:path';
import { imageManifests, mountImage, unmountImage } from '../../image/index.js';
import { findImage } from '../../metadata/index.js';
import { platformMatcher } from '../../oci/index.js';
import { SNAPSHOTTERS } from '../../snapshots/index.js';
import { type Strata, underLease } from '../../strata/index.js';
import { unpackImage } from '../../unpack/index.js';
import { type Command, type CommandContext, type OptionValues, stringOption } from '../command.js';
import { snapshotterName, snapshotterOption, UNPACK_OPTIONS, unpackSettings } from '../options.js';
import { printJson } from '../output.js';
import { withProgress } from '../progress.js';

const platformOption = {
  platform: {
    type: 'string',
    value: 'OS/ARCH[/VARIANT]',
    description: 'the platform to use from a multi-platform image (default: this host)',
  },
} as const;

/**
 * The image's manifest for the chosen platform, unpacked (reusing committed layers) under
 * a lease, in the snapshotter `--snapshotter` names (else the default).
 */
async function unpacked(ctx: CommandContext, strata: Strata, name: string, values: OptionValues) {
  const image = findImage(strata.images, name);
  const platform = stringOption(values, 'platform');
  const matcher = platformMatcher(platform === undefined ? {} : { platform });
  const [manifest] = await imageManifests(strata.content, image.target, {
    matcher,
    signal: ctx.signal,
  });
  const sn = await strata.snapshotter(snapshotterName(values));
  const result = await underLease(strata, `unpack ${image.name}`, async (leased) =>
    withProgress(ctx, async (onProgress) =>
      unpackImage(leased.content, manifest!, {
        snapshotter: await leased.snapshotter(sn.name),
        lockDir: join(strata.root, 'locks'),
        ...unpackSettings('images unpack', values),
        signal: ctx.signal,
        onProgress,
        onWarning: (message) => ctx.stderr.write(`strata: warning: ${message}\n`),
      }),
    ),
  );
  return { image, manifest: manifest!, result, sn };
}

const unpack: Command = {
  name: 'images unpack',
  summary: "Unpack an image's layers into snapshots (layers already unpacked are reused)",
  usage: 'REF [--snapshotter overlay|native] [--platform P]',
  options: { ...snapshotterOption, ...platformOption, ...UNPACK_OPTIONS },
  args: { min: 1, max: 1 },
  async run(ctx, [name], values) {
    const strata = await ctx.open();
    const { image, result, sn } = await unpacked(ctx, strata, name!, values);
    if (ctx.globals.json) {
      printJson(ctx.stdout, {
        name: image.name,
        snapshotter: sn.name,
        chainId: result.chainId,
        unpacked: result.unpacked,
      });
    } else {
      ctx.stdout.write(`${image.name}: unpacked into ${sn.name} snapshot ${result.chainId}\n`);
    }
    return 0;
  },
};

const mount: Command = {
  name: 'images mount',
  summary: "Mount an image's rootfs read-only on DIR (unpacking it first if needed)",
  usage: 'REF DIR [--snapshotter overlay|native] [--platform P]',
  description: 'Needs root. Undo with strata images unmount DIR.',
  options: { ...snapshotterOption, ...platformOption },
  args: { min: 2, max: 2 },
  async run(ctx, [name, dir], values) {
    const strata = await ctx.open();
    const { image, manifest, sn } = await unpacked(ctx, strata, name!, values);
    await mountImage(sn, manifest, dir!, { signal: ctx.signal });
    if (ctx.globals.json)
      printJson(ctx.stdout, { name: image.name, snapshotter: sn.name, mountpoint: dir });
    else ctx.stdout.write(`${image.name} mounted on ${dir}\n`);
    return 0;
  },
};

const unmount: Command = {
  name: 'images unmount',
  aliases: ['images umount'],
  summary: 'Unmount what strata images mount put on DIR and remove its view snapshot',
  usage: 'DIR',
  args: { min: 1, max: 1 },
  async run(ctx, [dir]) {
    const strata = await ctx.open();
    const all = await Promise.all(SNAPSHOTTERS.map((n) => strata.snapshotter(n)));
    await unmountImage(all, dir!, { signal: ctx.signal });
    if (ctx.globals.json) printJson(ctx.stdout, { unmounted: dir });
    else ctx.stdout.write(`${dir}\n`);
    return 0;
  },
};

export const imageFsCommands: readonly Command[] = [unpack, mount, unmount];

import { type Command, flag } from '../command.js';
import {
  FETCH_OPTIONS,
  fetchSettings,
  snapshotterName,
  snapshotterOption,
  UNPACK_OPTIONS,
  unpackSettings,
} from '../options.js';
import { descriptorJson, printJson, UsageError } from '../output.js';
import { withProgress } from '../progress.js';

export const pullCommand: Command = {
  name: 'pull',
  summary: 'Fetch an image from a registry, unpack it into snapshots and record it',
  usage:
    'REF [--platform P | --all-platforms] [--no-unpack] [--snapshotter overlay|native] ' +
    '[--discard-unpacked-layers]',
  description:
    'REF is normalized like docker: alpine is docker.io/library/alpine:latest. Credentials come\n' +
    'from $DOCKER_CONFIG/config.json (auths, credsStore, credHelpers) or strata login. A pull\n' +
    'that is interrupted resumes from the bytes already downloaded when run again. Layers\n' +
    'already unpacked (same chainID) are reused. A failed pull records no image.',
  options: {
    ...FETCH_OPTIONS,
    'no-unpack': { type: 'boolean', description: 'only fetch; do not unpack into snapshots' },
    'discard-unpacked-layers': {
      type: 'boolean',
      description:
        'once unpacked, free the compressed layer blobs no other image needs (the image ' +
        'runs from its snapshots; export needs them back: pull again)',
    },
    ...snapshotterOption,
    ...UNPACK_OPTIONS,
  },
  args: { min: 1, max: 1 },
  async run(ctx, [ref], values) {
    const options = fetchSettings(ctx, 'pull', values);
    const unpack = !flag(values, 'no-unpack');
    const discard = flag(values, 'discard-unpacked-layers');
    if (discard && !unpack) {
      throw new UsageError('pull: --discard-unpacked-layers needs the unpack --no-unpack skips');
    }
    const snapshotter = snapshotterName(values);
    const strata = await ctx.open();
    const started = Date.now();
    const image = await withProgress(ctx, (onProgress) =>
      strata.pull(ref!, {
        ...options,
        onProgress,
        unpack,
        ...(discard ? { discardUnpackedLayers: true } : {}),
        ...(snapshotter ? { snapshotter } : {}),
        ...unpackSettings('pull', values),
        onWarning: (message) => ctx.stderr.write(`strata: warning: ${message}\n`),
      }),
    );
    if (ctx.globals.json) {
      printJson(ctx.stdout, {
        name: image.name,
        target: descriptorJson(image.target),
        unpacked: unpack,
        seconds: (Date.now() - started) / 1000,
      });
    } else ctx.stdout.write(`${image.name}: ${image.target.digest}\n`);
    return 0;
  },
};

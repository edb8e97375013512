import type { FetchOptions, FetchResult } from '../../fetch/index.js';
import type { Descriptor } from '../../oci/index.js';
import { dockerCredentials } from '../../registry/index.js';
import {
  type Command,
  type CommandContext,
  flag,
  type OptionSpec,
  type OptionValues,
  stringOption,
} from '../command.js';
import { printJson, UsageError } from '../output.js';
import { createProgress, progressMode } from '../progress.js';
import { snapshotterName, snapshotterOption } from './snapshots.js';

/** Options of every command that talks to a registry. */
export const REGISTRY_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'hosts-dir': {
    type: 'string',
    value: 'DIR',
    description:
      'registry hosts config directory, containerd hosts.toml layout (env STRATA_HOSTS_DIR)',
  },
  'plain-http': { type: 'boolean', description: 'talk plain HTTP to the registry' },
};

/** Options of the commands that fetch images (pull, content fetch). */
export const FETCH_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  platform: {
    type: 'string',
    value: 'OS/ARCH[/VARIANT]',
    description: 'the platform to fetch (default: this host)',
  },
  'all-platforms': { type: 'boolean', description: 'fetch every platform of an index' },
  'max-concurrent-downloads': {
    type: 'string',
    value: 'N',
    description: 'blobs downloaded at once (default 3)',
  },
  ...REGISTRY_OPTIONS,
};

/** The registry client settings from a command's options and the environment. */
export function registrySettings(values: OptionValues): { hostsDir?: string; plainHttp?: boolean } {
  const hostsDir = stringOption(values, 'hosts-dir') ?? (process.env.STRATA_HOSTS_DIR || undefined);
  return {
    ...(hostsDir ? { hostsDir } : {}),
    ...(flag(values, 'plain-http') ? { plainHttp: true } : {}),
  };
}

/** Options of the commands that unpack layers. */
export const UNPACK_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'max-concurrent-unpacks': {
    type: 'string',
    value: 'N',
    description: 'layers applied at once, in worker threads (default: the number of CPUs)',
  },
};

export function unpackSettings(
  name: string,
  values: OptionValues,
): { maxConcurrentUnpacks?: number } {
  const text = stringOption(values, 'max-concurrent-unpacks');
  if (text === undefined) return {};
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > 64) {
    throw new UsageError(`${name}: --max-concurrent-unpacks must be a number from 1 to 64`);
  }
  return { maxConcurrentUnpacks: n };
}

/** Fetch options from the command line, with progress drawn on stderr. */
export function fetchSettings(
  ctx: CommandContext,
  name: string,
  values: OptionValues,
): FetchOptions {
  const platform = stringOption(values, 'platform');
  const all = flag(values, 'all-platforms');
  if (platform !== undefined && all)
    throw new UsageError(`${name}: --platform and --all-platforms exclude each other`);
  const concurrency = stringOption(values, 'max-concurrent-downloads');
  const max = concurrency === undefined ? 3 : Number(concurrency);
  if (!Number.isSafeInteger(max) || max < 1 || max > 64) {
    throw new UsageError(`${name}: --max-concurrent-downloads must be a number from 1 to 64`);
  }
  return {
    ...registrySettings(values),
    ...(platform !== undefined ? { platform } : {}),
    ...(all ? { allPlatforms: true } : {}),
    maxConcurrentDownloads: max,
    credentials: dockerCredentials(),
    signal: ctx.signal,
  };
}

/** Runs a fetch with a progress renderer on stderr, finishing it whatever happens. */
export async function withProgress<T>(
  ctx: CommandContext,
  run: (onProgress: NonNullable<FetchOptions['onProgress']>) => Promise<T>,
): Promise<T> {
  const progress = createProgress({
    out: ctx.stderr,
    mode: progressMode(ctx.stderr, ctx.globals.json),
  });
  try {
    return await run((e) => progress.update(e));
  } finally {
    progress.finish();
  }
}

const descriptorJson = (d: Descriptor) => ({
  mediaType: d.mediaType,
  digest: d.digest,
  size: d.size,
  ...(d.platform ? { platform: d.platform } : {}),
});

export function resultJson(r: FetchResult) {
  return {
    name: r.name,
    target: descriptorJson(r.target),
    manifests: r.manifests.map(descriptorJson),
  };
}

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

import type { FetchOptions } from '../fetch/index.js';
import { dockerCredentials } from '../registry/index.js';
import { parseSnapshotterName, type SnapshotterName } from '../snapshots/index.js';
import {
  type CommandContext,
  flag,
  type OptionSpec,
  type OptionValues,
  stringOption,
} from './command.js';
import { UsageError } from './output.js';

/**
 * Option sets several commands share (registry, fetch, unpack, snapshotter, platform,
 * durations), each with the function that reads it into library options.
 */

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

/** `--snapshotter`, accepted by every command that touches snapshots. */
export const snapshotterOption: Readonly<Record<string, OptionSpec>> = {
  snapshotter: {
    type: 'string',
    value: 'overlay|native',
    description: 'the snapshotter (default: overlay as root where overlayfs works, else native)',
  },
};

/** The snapshotter `--snapshotter` names, or undefined for the root's default. */
export function snapshotterName(values: OptionValues): SnapshotterName | undefined {
  const asked = stringOption(values, 'snapshotter');
  return asked === undefined ? undefined : parseSnapshotterName(asked);
}

/** `strata export`, `strata import`, `strata preload create|apply` (issue #6). */

/** `--platform` / `--all-platforms` for commands that keep platforms (export, import, preload). */
export const PLATFORM_OPTIONS = {
  platform: {
    type: 'string',
    value: 'OS/ARCH[/VARIANT]',
    description: 'the platform to keep (default: this host)',
  },
  'all-platforms': { type: 'boolean', description: 'keep every platform of an index' },
} as const;

/** `--platform` / `--all-platforms`, exclusive. */
export function platformSettings(
  name: string,
  values: OptionValues,
): { platform?: string; allPlatforms?: boolean } {
  const platform = stringOption(values, 'platform');
  const all = flag(values, 'all-platforms');
  if (platform !== undefined && all && name !== 'import') {
    throw new UsageError(`${name}: --platform and --all-platforms exclude each other`);
  }
  return {
    ...(platform !== undefined ? { platform } : {}),
    ...(all ? { allPlatforms: true } : {}),
  };
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
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
  return parts.reduce((ms, p) => ms + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0);
}

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type FsKind, REPO, type SnapshotterKind } from './env.js';

/** What `npm run bench` measures: its parts, in the order they run (see parts.ts). */
export const PART_NAMES = ['micro', 'e2e'] as const;
export type PartName = (typeof PART_NAMES)[number];

export const USAGE = `usage: npm run bench -- [options]

  --part ${[...PART_NAMES, 'all'].join('|').padEnd(17)} what to measure (default all)
  --runs N                 runs per measurement, median reported (default 3; --quick: 1)
  --dir tmpfs|disk|both    filesystems written to (default both; --quick: tmpfs)
                           tmpfs = /dev/shm ($STRATA_BENCH_TMPFS), disk = /var/tmp ($STRATA_BENCH_DISK)
  --images LIST            e2e images, comma-separated: debian, nodeapp (lab OCI layout), trees
                           (this machine's real trees), tiny (generated) (default debian,nodeapp)
  --profiles LIST          micro layers: small-files, large-files (generated), debian, nodeapp
                           (the lab image's largest layer) (default small-files,large-files,debian)
  --snapshotter KIND       overlay|native|both (default overlay)
  --no-fetch-only          skip the strata --no-unpack runs (the download/unpack split)
  --lab DIR                the lab OCI layout (default $LAB/oci or /tmp/strata-lab/oci)
  --seed N                 seed of the generated layers (default 1)
  --quick                  tiny layers, image tiny, 1 run, tmpfs: a smoke run (seconds)
  --json FILE              write the JSON report there (default bench/results/<time>.json;
                           --quick writes none unless asked)
  --update-docs            rewrite the generated sections of docs/BENCHMARKS.md
  --docs FILE              the markdown file --update-docs rewrites
  --from-json FILE         measure nothing: print (and --update-docs) a saved report

The strata CLI measured is $STRATA_BIN, else $STRATA_DIST/src/cli/main.js, else dist/.`;

/** The options of a run; all but the output ones are recorded in the report. */
export interface BenchOptions {
  readonly part: PartName | 'all';
  readonly runs: number;
  readonly fs: readonly FsKind[];
  readonly images: readonly string[];
  readonly profiles: readonly string[];
  readonly snapshotters: readonly SnapshotterKind[];
  readonly fetchOnly: boolean;
  readonly labDir: string;
  readonly seed: number;
  readonly quick: boolean;
  readonly json?: string;
  readonly updateDocs: boolean;
  readonly docs: string;
  readonly fromJson?: string;
}

/** @throws Error (a usage error) for an unknown option or a bad value */
export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      part: { type: 'string' },
      runs: { type: 'string' },
      dir: { type: 'string' },
      images: { type: 'string' },
      profiles: { type: 'string' },
      snapshotter: { type: 'string' },
      'no-fetch-only': { type: 'boolean' },
      lab: { type: 'string' },
      seed: { type: 'string' },
      quick: { type: 'boolean' },
      json: { type: 'string' },
      'update-docs': { type: 'boolean' },
      docs: { type: 'string' },
      'from-json': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  const dir = oneOf('dir', values.dir, ['tmpfs', 'disk', 'both'], quick ? 'tmpfs' : 'both');
  const sn = oneOf('snapshotter', values.snapshotter, ['overlay', 'native', 'both'], 'overlay');
  return {
    part: oneOf('part', values.part, [...PART_NAMES, 'all'], 'all'),
    runs: positive('runs', values.runs, quick ? 1 : 3),
    fs: dir === 'both' ? ['tmpfs', 'disk'] : [dir],
    images: list(values.images, quick ? 'tiny' : 'debian,nodeapp'),
    profiles: list(
      values.profiles,
      quick ? 'small-files,large-files' : 'small-files,large-files,debian',
    ),
    snapshotters: sn === 'both' ? ['overlay', 'native'] : [sn],
    fetchOnly: !values['no-fetch-only'],
    labDir: values.lab ?? join(process.env.LAB || '/tmp/strata-lab', 'oci'),
    seed: positive('seed', values.seed, 1),
    quick,
    ...(values.json ? { json: values.json } : {}),
    updateDocs: values['update-docs'] ?? false,
    docs: values.docs ?? join(REPO, 'docs', 'BENCHMARKS.md'),
    ...(values['from-json'] ? { fromJson: values['from-json'] } : {}),
  };
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new Error(`bench: --${name} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

const list = (value: string | undefined, fallback: string) =>
  (value ?? fallback).split(',').filter(Boolean);

function positive(name: string, value: string | undefined, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`bench: --${name} must be a positive integer`);
  return n;
}

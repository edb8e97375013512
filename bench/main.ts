import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runE2e } from './e2e.js';
import {
  type FsKind,
  fsBase,
  machineFacts,
  REPO,
  removeTree,
  scratch,
  strataBin,
  writeRssProbe,
} from './env.js';
import { runMicro } from './micro.js';
import type { SnapshotterKind } from './peers.js';
import {
  type BenchReport,
  checkTargets,
  readJson,
  terminalReport,
  updateDocs,
  writeJson,
} from './report.js';

/**
 * `npm run bench [-- OPTIONS]`: strata's benchmark harness (issue #5). Part 1 times the
 * pipeline's stages on seeded layers next to the machine's limits; part 2 times pull +
 * unpack of real images against containerd and curl|pigz|tar. See docs/BENCHMARKS.md.
 */

export const USAGE = `usage: npm run bench -- [options]

  --part micro|e2e|all     what to measure (default all)
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

export interface BenchOptions {
  readonly part: 'micro' | 'e2e' | 'all';
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
  const oneOf = <T extends string>(
    name: string,
    v: string | undefined,
    allowed: readonly T[],
    d: T,
  ) => {
    if (v === undefined) return d;
    if (!allowed.includes(v as T))
      throw new Error(`bench: --${name} must be one of ${allowed.join(', ')}`);
    return v as T;
  };
  const list = (v: string | undefined, d: string) => (v ?? d).split(',').filter(Boolean);
  const int = (name: string, v: string | undefined, d: number) => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new Error(`bench: --${name} must be a positive integer`);
    return n;
  };
  const dir = oneOf('dir', values.dir, ['tmpfs', 'disk', 'both'], quick ? 'tmpfs' : 'both');
  const sn = oneOf('snapshotter', values.snapshotter, ['overlay', 'native', 'both'], 'overlay');
  return {
    part: oneOf('part', values.part, ['micro', 'e2e', 'all'], 'all'),
    runs: int('runs', values.runs, quick ? 1 : 3),
    fs: dir === 'both' ? ['tmpfs', 'disk'] : [dir],
    images: list(values.images, quick ? 'tiny' : 'debian,nodeapp'),
    profiles: list(
      values.profiles,
      quick ? 'small-files,large-files' : 'small-files,large-files,debian',
    ),
    snapshotters: sn === 'both' ? ['overlay', 'native'] : [sn],
    fetchOnly: !values['no-fetch-only'],
    labDir: values.lab ?? join(process.env.LAB || '/tmp/strata-lab', 'oci'),
    seed: int('seed', values.seed, 1),
    quick,
    ...(values.json ? { json: values.json } : {}),
    updateDocs: values['update-docs'] ?? false,
    docs: values.docs ?? join(REPO, 'docs', 'BENCHMARKS.md'),
    ...(values['from-json'] ? { fromJson: values['from-json'] } : {}),
  };
}

/** Runs the parts asked for and returns the report (also printed, saved and documented). */
export async function runBench(
  options: BenchOptions,
  io: { log: (line: string) => void; out: (text: string) => void; command: string },
): Promise<BenchReport> {
  let report: BenchReport;
  if (options.fromJson) report = await readJson(options.fromJson);
  else report = await measure(options, io);
  io.out(terminalReport(report));
  const json =
    options.json ??
    (options.quick || options.fromJson
      ? undefined
      : join(REPO, 'bench', 'results', `${report.startedAt.replace(/[:.]/g, '-')}.json`));
  if (json) {
    await writeJson(json, report);
    io.log(`bench: wrote ${json}`);
  }
  if (options.updateDocs) {
    await updateDocs(options.docs, report);
    io.log(`bench: updated ${options.docs}`);
  }
  return report;
}

async function measure(
  options: BenchOptions,
  io: { log: (line: string) => void; command: string },
): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const machine = machineFacts(options.fs);
  const bin = strataBin();
  const micro =
    options.part === 'e2e'
      ? undefined
      : await runMicro({
          quick: options.quick,
          runs: options.runs,
          fs: options.fs,
          profiles: options.profiles,
          seed: options.seed,
          labDir: options.labDir,
          log: io.log,
        });
  let e2e: Awaited<ReturnType<typeof runE2e>> | undefined;
  if (options.part !== 'micro') {
    const work = await scratch(fsBase('tmpfs'), 'probe');
    try {
      e2e = await runE2e({
        quick: options.quick,
        runs: options.runs,
        fs: options.fs,
        images: options.images,
        snapshotters: options.snapshotters,
        labDir: options.labDir,
        seed: options.seed,
        strataBin: bin,
        probe: writeRssProbe(work),
        fetchOnly: options.fetchOnly,
        log: io.log,
      });
    } finally {
      await removeTree(work);
    }
  }
  const { json: _json, docs: _docs, updateDocs: _u, fromJson: _f, ...recorded } = options;
  return {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    command: io.command,
    options: { ...recorded, strataBin: bin },
    machine,
    loadAverageEnd: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    ...(micro ? { micro } : {}),
    ...(e2e ? { e2e, targets: checkTargets(e2e) } : {}),
  };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let options: BenchOptions | 'help';
  try {
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  await runBench(options, {
    log: (line) => process.stderr.write(`${line}\n`),
    out: (text) => process.stdout.write(`${text}\n`),
    command,
  });
  return 0;
}

const invoked = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invoked === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : err}\n`);
      process.exitCode = 1;
    },
  );
}

import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import {
  ALL_PROFILES,
  type BenchResults,
  comparisonReport,
  DEFAULT_BENCH_REGISTRY,
  findProfile,
  htmlReport,
  readResults,
  runSnapshotterBench,
  selectDrivers,
  snapshotterReport,
} from '../../bench/index.js';
import { isCode } from '../../errors.js';
import { type Command, flag, listOption, type OptionValues, stringOption } from '../command.js';
import { printJson, UsageError } from '../output.js';

/**
 * `strata bench snapshotters` and `strata bench report` (issue #8): the storage-driver
 * benchmark and its HTML report. See docs/BENCHMARKS.md, "Snapshotter benchmarks".
 *
 * `--json` is also strata's global flag (JSON on stdout): `--json FILE` reaches a command
 * as the flag plus a positional argument, so a lone positional after `--json` is the file;
 * `--json=FILE` works too.
 */

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > 1000) {
    throw new UsageError(`bench snapshotters: --${name} must be a number from ${min} to 1000`);
  }
  return n;
}

/** Runs `check`, turning its InvalidArgument into a usage error (exit 2). */
function usage<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (isCode(err, 'InvalidArgument')) {
      throw new UsageError(`bench snapshotters: ${(err as Error).message}`);
    }
    throw err;
  }
}

/** `--profile a --profile b,c`, `all` expanded; validated. */
function profilesOf(values: OptionValues): string[] {
  const names = listOption(values, 'profile').flatMap((p) => p.split(',').filter(Boolean));
  const out: string[] = [];
  for (const n of names) {
    for (const p of n === 'all' ? ALL_PROFILES : [usage(() => findProfile(n)).name]) {
      if (!out.includes(p)) out.push(p);
    }
  }
  return out;
}

/** The JSON file: `--json=FILE`, or `--json FILE` (global flag + positional). */
function jsonFile(
  globalsJson: boolean,
  positionals: readonly string[],
  values: OptionValues,
): string | undefined {
  const explicit = stringOption(values, 'json');
  if (explicit !== undefined) return explicit;
  if (globalsJson && positionals.length === 1) return positionals[0];
  if (positionals.length > 0) {
    throw new UsageError(`bench: unexpected argument ${JSON.stringify(positionals[0])}`);
  }
  return undefined;
}

const stamp = (iso: string) => iso.slice(0, 19).replace(/[-:]/g, '').replace('T', '-');

const snapshotters: Command = {
  name: 'bench snapshotters',
  summary: 'Benchmark snapshotters (strata and containerd) on the same images: table, JSON, HTML',
  usage:
    '[--image REF]... [--profile NAME|all]... [--snapshotters LIST] [--peers containerd|none] [--runs N] [--warmup N] [--dir DIR] [--json FILE] [--html FILE]',
  description:
    'Each workload (a synthetic profile, or an image fetched first) is unpacked by each snapshotter\n' +
    'and then mounted, read, written on and removed; every phase is timed (median, min, max).\n' +
    'Profiles: benchsuite, tiny-files, huge-files, deep (all), tiny. Without --image or --profile:\n' +
    '--profile all. An --image without a registry host (lab/nodeapp) is pulled from --registry\n' +
    `(default ${DEFAULT_BENCH_REGISTRY}); oci:DIR[:NAME] reads an OCI layout directory, archive:FILE\n` +
    'an archive (OCI layout or docker-save tar, as strata import reads). --snapshotters: overlay,\n' +
    'native (in every engine), or strata/NAME, containerd/NAME (default: all). containerd runs as a\n' +
    'throwaway daemon (root). Writes the JSON and the HTML report (default: ./strata-bench-\n' +
    'snapshotters-TIME.json and .html). Needs root for overlay, mounts and containerd.',
  options: {
    image: {
      type: 'string',
      multiple: true,
      value: 'REF',
      description: 'an image to measure (repeatable)',
    },
    profile: {
      type: 'string',
      multiple: true,
      value: 'NAME|all',
      description: 'a synthetic profile (repeatable, comma-separated)',
    },
    snapshotters: {
      type: 'string',
      value: 'LIST',
      description: 'drivers to measure (default: all)',
    },
    peers: {
      type: 'string',
      value: 'containerd|none',
      description: "measure containerd's snapshotters too (default containerd)",
    },
    runs: {
      type: 'string',
      value: 'N',
      description: 'measured runs; the median is reported (default 3)',
    },
    warmup: { type: 'string', value: 'N', description: 'warm-up runs, not reported (default 1)' },
    dir: {
      type: 'string',
      value: 'DIR',
      description: `where roots and mounts go: the filesystem measured (default ${tmpdir()})`,
    },
    json: {
      type: 'string',
      value: 'FILE',
      description: 'write the results (every raw sample) as JSON',
    },
    html: { type: 'string', value: 'FILE', description: 'write the HTML report' },
    registry: {
      type: 'string',
      value: 'HOST',
      description: `registry of unqualified --image refs (default ${DEFAULT_BENCH_REGISTRY}; docker.io for Docker's rule)`,
    },
    seed: { type: 'string', value: 'N', description: 'seed of the synthetic profiles (default 1)' },
    'drop-caches': {
      type: 'boolean',
      description: 'drop the page cache before each unpack and mount (root)',
    },
    label: {
      type: 'string',
      value: 'TEXT',
      description: 'how reports name this run (default: commit and time)',
    },
  },
  args: { max: 1 },
  async run(ctx, positionals, values) {
    const json = jsonFile(ctx.globals.json, positionals, values);
    const images = listOption(values, 'image');
    let profiles = profilesOf(values);
    if (profiles.length === 0 && images.length === 0) profiles = [...ALL_PROFILES];
    const peers = stringOption(values, 'peers') ?? 'containerd';
    if (peers !== 'containerd' && peers !== 'none') {
      throw new UsageError('bench snapshotters: --peers must be containerd or none');
    }
    const list = (stringOption(values, 'snapshotters') ?? '').split(',').filter(Boolean);
    usage(() => selectDrivers(list)); // fail before any work
    const label = stringOption(values, 'label');
    const results = await runSnapshotterBench({
      profiles,
      images,
      snapshotters: list,
      peers,
      runs: positiveInt('runs', stringOption(values, 'runs'), 3),
      warmup: positiveInt('warmup', stringOption(values, 'warmup'), 1, 0),
      dir: stringOption(values, 'dir') ?? tmpdir(),
      dropCaches: flag(values, 'drop-caches'),
      seed: positiveInt('seed', stringOption(values, 'seed'), 1, 0),
      registry: stringOption(values, 'registry') ?? DEFAULT_BENCH_REGISTRY,
      ...(label !== undefined ? { label } : {}),
      command: `strata ${process.argv.slice(2).join(' ')}`,
      signal: ctx.signal,
      log: (line) => ctx.stderr.write(`${line}\n`),
    });
    const base = `strata-bench-snapshotters-${stamp(results.startedAt)}`;
    const jsonPath = resolve(json ?? `${base}.json`);
    const htmlPath = resolve(stringOption(values, 'html') ?? `${base}.html`);
    await writeFile(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
    await writeFile(htmlPath, htmlReport([results]));
    if (ctx.globals.json && json === undefined) printJson(ctx.stdout, results);
    else ctx.stdout.write(`${snapshotterReport(results)}\n`);
    ctx.stderr.write(`bench: wrote ${jsonPath}\nbench: wrote ${htmlPath}\n`);
    return 0;
  },
};

const report: Command = {
  name: 'bench report',
  summary: 'Merge and compare bench snapshotters results into one HTML report',
  usage: 'RESULTS.json... -o FILE [--title TEXT]',
  description:
    'Each results file is one run (named by its label: commit and time, or --label); a report of\n' +
    'several compares them per workload, phase and driver (before/after, machine A vs B), with\n' +
    'the ratio of each run to the first.',
  options: {
    output: {
      type: 'string',
      short: 'o',
      value: 'FILE',
      description: 'the HTML file to write (default report.html)',
    },
    title: { type: 'string', value: 'TEXT', description: 'the report title' },
  },
  args: { min: 1 },
  async run(ctx, files, values) {
    const results: BenchResults[] = [];
    for (const f of files) results.push(await readResults(f));
    const output = resolve(stringOption(values, 'output') ?? 'report.html');
    const title = stringOption(values, 'title');
    await writeFile(output, htmlReport(results, title !== undefined ? { title } : {}));
    if (ctx.globals.json) printJson(ctx.stdout, { output, runs: results.map((r) => r.label) });
    else {
      if (results.length > 1) ctx.stdout.write(`${comparisonReport(results)}\n`);
      ctx.stdout.write(
        `wrote ${output} (${results.length} run${results.length === 1 ? '' : 's'})\n`,
      );
    }
    return 0;
  },
};

/** `strata bench snapshotters`, `strata bench report` (issue #8). */
export const benchCommands: readonly Command[] = [snapshotters, report];

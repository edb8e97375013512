import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAverage } from '../src/bench/index.js';
import { machineFacts, REPO, strataBin } from './env.js';
import { type BenchOptions, PART_NAMES, type PartName, parseOptions, USAGE } from './options.js';
import { PARTS } from './parts.js';
import {
  type BenchReport,
  machineLine,
  type PartResults,
  readJson,
  updateDocs,
  writeJson,
} from './report.js';

/**
 * `npm run bench [-- OPTIONS]`: strata's benchmark harness (issue #5), built apart from
 * the package (tsconfig.bench.json, into build/) and not shipped. It runs the parts asked
 * for (parts.ts: part 1 times the pipeline's stages on seeded layers next to the machine's
 * limits; part 2 times pull + unpack of real images against containerd and curl|pigz|tar),
 * then prints, saves and documents one report. See docs/BENCHMARKS.md.
 */

export interface BenchIo {
  readonly log: (line: string) => void;
  readonly out: (text: string) => void;
  /** The command line, recorded in the report. */
  readonly command: string;
}

/** Runs the parts asked for and returns the report (also printed, saved and documented). */
export async function runBench(options: BenchOptions, io: BenchIo): Promise<BenchReport> {
  const report = options.fromJson ? await readJson(options.fromJson) : await measure(options, io);
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
    const sections = PART_NAMES.flatMap((part) => {
      const body = PARTS[part].markdown(report);
      return body === undefined ? [] : [{ part, body }];
    });
    await updateDocs(options.docs, sections);
    io.log(`bench: updated ${options.docs}`);
  }
  return report;
}

/** Every part's block, then the machine. */
export function terminalReport(report: BenchReport): string {
  const parts = PART_NAMES.flatMap((part) => PARTS[part].terminal(report));
  return [...parts, '', `machine: ${machineLine(report)}`].join('\n');
}

const selected = (options: BenchOptions): readonly PartName[] =>
  options.part === 'all' ? PART_NAMES : [options.part];

async function measure(options: BenchOptions, io: BenchIo): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const machine = machineFacts(options.fs);
  const bin = strataBin();
  let results: PartResults = {};
  for (const part of selected(options)) {
    const ctx = { options, strataBin: bin, log: io.log };
    results = { ...results, ...(await PARTS[part].measure(ctx)) };
  }
  const { json: _json, docs: _docs, updateDocs: _u, fromJson: _f, ...recorded } = options;
  return {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    command: io.command,
    options: { ...recorded, strataBin: bin },
    machine,
    loadAverageEnd: loadAverage(),
    ...results,
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

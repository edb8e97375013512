import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fail, isCode } from '../errors.js';
import { defaultSnapshotter, SNAPSHOTTERS, type SnapshotterName } from '../snapshots/index.js';
import { openStrata, type Strata } from '../strata/index.js';
import { VERSION } from '../version.js';
import { type Containerd, containerdUnavailable, openContainerd } from './containerd.js';
import { containerdDriver } from './containerd-driver.js';
import type { BenchDriver, DriverEnv } from './driver.js';
import { timed } from './exec.js';
import { dropCaches, isRoot, removeTree, scratch, which } from './host.js';
import { fsType, gitCommit, hostFacts, loadAverage, toolVersions } from './machine.js';
import {
  type BenchOptionsRecord,
  type BenchResults,
  type Cell,
  type MachineFacts,
  type Phase,
  RESULTS_KIND,
  RESULTS_VERSION,
  type RunSample,
  type Skip,
  type UsageSample,
  type WorkloadInfo,
} from './results.js';
import { median, type Summary, summarize } from './stats.js';
import { strataDriver } from './strata-driver.js';
import { imageWorkload, profileWorkload, type Workload } from './workloads.js';

/** What `strata bench snapshotters` measures, and how (the options recorded, and more). */
export interface SnapshotterBenchOptions extends BenchOptionsRecord {
  readonly label?: string;
  /** The command line, recorded with the results. */
  readonly command: string;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

type CtdName = 'overlayfs' | 'native';
const CONTAINERD: readonly CtdName[] = ['overlayfs', 'native'];
const TO_CONTAINERD: Readonly<Record<SnapshotterName, CtdName>> = {
  overlay: 'overlayfs',
  native: 'native',
};

/**
 * Which drivers `--snapshotters` names: `overlay` (or `overlayfs`) and `native` mean that
 * snapshotter in every engine measured; `strata/NAME` and `containerd/NAME` one driver.
 * @throws InvalidArgument for anything else
 */
export function selectDrivers(items: readonly string[]): {
  strata: SnapshotterName[];
  containerd: CtdName[];
} {
  if (items.length === 0) return { strata: [...SNAPSHOTTERS], containerd: [...CONTAINERD] };
  const strata = new Set<SnapshotterName>();
  const containerd = new Set<CtdName>();
  for (const raw of items) {
    const item = raw.trim();
    const [engine, name] = item.includes('/') ? item.split('/', 2) : ['', item];
    const strataName = name === 'overlayfs' ? 'overlay' : name;
    const known = SNAPSHOTTERS.find((s) => s === strataName);
    const ctd = known ? TO_CONTAINERD[known] : CONTAINERD.find((c) => c === name);
    if ((engine === '' || engine === 'strata') && known) strata.add(known);
    if ((engine === '' || engine === 'containerd') && ctd) containerd.add(ctd);
    if ((!known && !ctd) || (engine !== '' && engine !== 'strata' && engine !== 'containerd')) {
      throw fail(
        'InvalidArgument',
        `snapshotter ${JSON.stringify(item)}: unknown (overlay, native, strata/NAME, containerd/NAME)`,
      );
    }
  }
  return { strata: [...strata], containerd: [...containerd] };
}

/**
 * Runs the benchmark: loads the workloads into a scratch bench root under `dir`, then for
 * each workload runs every driver `warmup + runs` times, interleaved (run 1 of each driver,
 * then run 2...), so that a slow spell of the machine spreads over all of them.
 * A driver that fails on a workload is recorded with its error and the others go on.
 * @throws Aborted; InvalidArgument (options); what loading a workload throws
 */
export async function runSnapshotterBench(o: SnapshotterBenchOptions): Promise<BenchResults> {
  const log = o.log ?? (() => {});
  const startedAt = new Date().toISOString();
  const loadStart = loadAverage();
  // The commit measured: read now, the checkout may move while the benchmark runs.
  const commit = gitCommit();
  const wanted = selectDrivers(o.snapshotters);
  const dir = resolve(o.dir);
  const work = await scratch(dir, 'snapshotters');
  const skipped: Skip[] = [];
  const notes: string[] = [];
  const drivers: BenchDriver[] = [];
  let ctd: Containerd | undefined;
  let strata: Strata | undefined;
  try {
    strata = await openStrata({ root: join(work, 'strata'), namespace: 'bench' });
    // A first drop tells whether this kernel lets us (a container may not).
    const canDrop = o.dropCaches && isRoot && dropCaches();
    const env: DriverEnv = { scratch: join(work, 'mnt'), dropCaches: canDrop, canMount: isRoot };
    if (o.dropCaches && !isRoot) notes.push('--drop-caches needs root: caches were not dropped');
    if (o.dropCaches && isRoot && !canDrop) {
      notes.push(
        '--drop-caches: /proc/sys/vm/drop_caches is not writable: caches were not dropped',
      );
    }
    for (const name of wanted.strata) {
      if (name === 'overlay' && (await defaultSnapshotter(strata.root)) !== 'overlay') {
        const reason = isRoot ? `overlayfs does not mount on ${dir}` : 'needs root';
        skipped.push({ driver: 'strata/overlay', reason });
        continue;
      }
      drivers.push(strataDriver(strata, await strata.snapshotter(name), env));
    }
    if (o.peers === 'containerd' && wanted.containerd.length > 0) {
      const reason = containerdUnavailable();
      if (reason) {
        for (const s of wanted.containerd) skipped.push({ driver: `containerd/${s}`, reason });
      } else {
        ctd = await openContainerd(join(work, 'containerd'), 'strata-bench');
        notes.push(...(await containerdNotes()));
        const imported = new Set<string>();
        for (const s of wanted.containerd) {
          drivers.push(containerdDriver(ctd, s, strata, env, imported));
        }
      }
    }
    for (const s of skipped) log(`bench: skipping ${s.driver}: ${s.reason}`);
    const workloads = await loadWorkloads(strata, o, log);
    const cells: Cell[] = [];
    const infos: WorkloadInfo[] = [];
    for (const w of workloads) {
      const measured = await measureWorkload(w, drivers, o, log);
      cells.push(...measured.cells);
      infos.push(measured.info);
    }
    return {
      kind: RESULTS_KIND,
      version: RESULTS_VERSION,
      label: o.label ?? `${commit} ${startedAt.slice(0, 16).replace('T', ' ')}`,
      startedAt,
      finishedAt: new Date().toISOString(),
      command: o.command,
      options: {
        profiles: o.profiles,
        images: o.images,
        snapshotters: drivers.map((d) => d.info.id),
        peers: o.peers,
        runs: o.runs,
        warmup: o.warmup,
        dir,
        dropCaches: env.dropCaches,
        seed: o.seed,
        registry: o.registry,
      },
      machine: machineOf(dir, loadStart, commit),
      drivers: drivers.map((d) => d.info),
      workloads: infos,
      skipped,
      notes,
      cells,
    };
  } finally {
    for (const d of drivers) await d.close();
    await ctd?.stop();
    strata?.close();
    await removeTree(work);
  }
}

async function loadWorkloads(
  strata: Strata,
  o: SnapshotterBenchOptions,
  log: (line: string) => void,
): Promise<Workload[]> {
  const load = { seed: o.seed, registry: o.registry, ...(o.signal ? { signal: o.signal } : {}) };
  const out: Workload[] = [];
  for (const name of o.profiles) {
    log(`bench: generating profile ${name} (seed ${o.seed})`);
    out.push(await profileWorkload(strata, name, load));
  }
  for (const spec of o.images) {
    log(`bench: fetching ${spec}`);
    out.push(await imageWorkload(strata, spec, load));
  }
  return out;
}

interface CellState {
  readonly driver: BenchDriver;
  readonly warmup: RunSample[];
  readonly runs: RunSample[];
  usage?: UsageSample;
  error?: string;
}

async function measureWorkload(
  w: Workload,
  drivers: readonly BenchDriver[],
  o: SnapshotterBenchOptions,
  log: (line: string) => void,
): Promise<{ cells: Cell[]; info: WorkloadInfo }> {
  let info = w.info;
  const states: CellState[] = drivers.map((driver) => ({ driver, warmup: [], runs: [] }));
  const guard = async (s: CellState, what: () => Promise<void>) => {
    try {
      await what();
    } catch (err) {
      if (isCode(err, 'Aborted') || o.signal?.aborted) throw err;
      s.error = err instanceof Error ? err.message : String(err);
      log(`bench: ${info.name}: ${s.driver.info.label}: failed: ${s.error}`);
    }
  };
  for (const s of states) await guard(s, () => s.driver.setup(w, o.signal));
  for (let r = 0; r < o.warmup + o.runs; r++) {
    const warm = r < o.warmup;
    for (const s of states) {
      if (s.error !== undefined) continue;
      const which = warm ? `warm-up ${r + 1}/${o.warmup}` : `run ${r - o.warmup + 1}/${o.runs}`;
      log(`bench: ${info.name}: ${s.driver.info.label}: ${which}`);
      await guard(s, async () => {
        const out = await s.driver.run({
          workload: w,
          usage: r === o.warmup,
          ...(o.signal ? { signal: o.signal } : {}),
        });
        (warm ? s.warmup : s.runs).push(out.sample);
        if (out.usage) s.usage = out.usage;
        if (out.applied && info.tarBytes === undefined) {
          info = { ...info, tarBytes: out.applied.bytes, entries: out.applied.entries };
        }
      });
    }
  }
  const cells = states.map(
    (s): Cell => ({
      workload: w.info.name,
      driver: s.driver.info.id,
      warmup: s.warmup,
      runs: s.runs,
      summary: summarizeRuns(s.runs),
      ...(s.usage ? { usage: s.usage } : {}),
      ...(s.error !== undefined ? { error: s.error } : {}),
    }),
  );
  return { cells, info };
}

/** Median, min and max of every phase over the runs. */
export function summarizeRuns(runs: readonly RunSample[]): Partial<Record<Phase, Summary>> {
  const out: Partial<Record<Phase, Summary>> = {};
  const phases = new Set(runs.flatMap((r) => Object.keys(r.phases) as Phase[]));
  for (const p of phases) {
    const values = runs.map((r) => r.phases[p]).filter((v): v is number => v !== undefined);
    out[p] = summarize(values);
  }
  return out;
}

/** What a `ctr` call costs, and how containerd decompresses. */
async function containerdNotes(): Promise<string[]> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) samples.push((await timed('ctr', ['--version'])).seconds);
  const notes = [
    `a ctr process (spawn to exit, \`ctr --version\`) takes ${(median(samples) * 1000).toFixed(0)} ms: containerd's unpack, commit (write) and remove include one or two`,
  ];
  if (which('unpigz')) notes.push('containerd decompresses gzip layers with unpigz (on PATH)');
  return notes;
}

/** The machine, as `strata bench snapshotters` results record it. */
function machineOf(dir: string, loadStart: number, commit: string): MachineFacts {
  return {
    host: hostname(),
    ...hostFacts(),
    strataVersion: VERSION,
    strataCommit: commit,
    dir: { path: dir, fsType: fsType(dir) },
    loadAverage: { start: loadStart, end: loadAverage() },
    tools: toolVersions(['containerd', 'ctr', 'pigz']),
  };
}

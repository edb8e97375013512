import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  check,
  generateLayer,
  mebibytes,
  median,
  megabytes,
  pairedRatio,
  QUICK_SIZE,
  type Summary,
  summarize,
  timed,
} from '../../src/bench/index.js';
import { type FsKind, fsBase, type SnapshotterKind } from '../env.js';
import { imageOf, labLayout, treeImage } from '../images.js';
import type { BenchOptions } from '../options.js';
import { readProbe } from '../probes.js';
import { type BenchRegistry, type PushImage, pushImage, startRegistry } from '../registry.js';
import { availablePeers, type Peer, type PullRun, type Target, type Tool } from './peers.js';

/**
 * Part 2: pull + unpack of whole images from the bench's own registry by strata's CLI and
 * by the peers (peers.ts), several runs with the tools interleaved (the order rotates every
 * run), on each filesystem. Ratios strata/peer come from the same run set: the ratio of
 * the medians, and (in the JSON) the median of the per-run ratios.
 *
 * Images: `debian` and `nodeapp` from the lab's OCI layout (`../shared/lab/build-images.sh`;
 * `trees`, built from this machine's real trees, stands in when the layout is missing) and
 * `tiny` (two generated layers, for `--quick`).
 */

export interface E2eImage {
  readonly name: string;
  readonly source: string;
  readonly ref: string;
  readonly layers: number;
  readonly gzBytes: number;
}

export interface E2eRow {
  readonly image: string;
  readonly fs: FsKind;
  readonly snapshotter: SnapshotterKind;
  readonly tool: Tool;
  readonly runs: readonly PullRun[];
  readonly seconds: Summary;
  /** The largest peak RSS over the runs, in bytes (strata: the CLI; containerd: the daemon). */
  readonly peakRss?: number;
  /** strata: the median pull time measured inside the CLI (no process start). */
  readonly innerSeconds?: number;
  /** The median CPU seconds (user + system) of a run, where measured. */
  readonly cpuSeconds?: number;
}

export interface E2eRatio {
  readonly image: string;
  readonly fs: FsKind;
  readonly snapshotter: SnapshotterKind;
  readonly peer: Tool;
  /** median(strata) / median(peer). */
  readonly ratio: number;
  /** The median over runs of strata[i] / peer[i]. */
  readonly pairedRatio: number;
}

export interface E2eResult {
  readonly images: readonly E2eImage[];
  readonly rows: readonly E2eRow[];
  readonly ratios: readonly E2eRatio[];
  /** `node CLI version`: process start and module loading, paid by every CLI pull. */
  readonly startup: Summary;
  /** The peak RSS of `strata version`: node + strata's modules, the floor of every pull. */
  readonly startupRss?: number;
  /** `node -e 0`: what process start costs without strata. */
  readonly nodeStartup?: Summary;
  readonly skipped: readonly string[];
}

export interface E2eOptions
  extends Pick<
    BenchOptions,
    'quick' | 'runs' | 'fs' | 'images' | 'snapshotters' | 'labDir' | 'seed' | 'fetchOnly'
  > {
  /** The built CLI measured. */
  readonly strataBin: string;
  /** The RSS probe module (probes.ts) preloaded into every strata process. */
  readonly probe: string;
  readonly log: (line: string) => void;
}

export async function runE2e(options: E2eOptions): Promise<E2eResult> {
  const { peers, skipped } = availablePeers(options);
  for (const s of skipped) options.log(`e2e: skipped ${s}`);
  const registry = await startRegistry(fsBase('tmpfs'));
  try {
    const pushed = await pushImages(registry, options, skipped);
    const runs = await pullAll(pushed, peers, options);
    const { rows, ratios } = tabulate(pushed, peers, runs, options);
    const { startup, startupRss, nodeStartup } = await measureStartup(options);
    return {
      images: pushed.map((p) => p.image),
      rows,
      ratios,
      startup,
      ...(startupRss ? { startupRss } : {}),
      nodeStartup,
      skipped,
    };
  } finally {
    await registry.stop();
  }
}

interface Pushed {
  readonly image: E2eImage;
  readonly target: Target;
}

async function pushImages(
  registry: BenchRegistry,
  options: E2eOptions,
  skipped: string[],
): Promise<Pushed[]> {
  const pushed: Pushed[] = [];
  for (const name of options.images) {
    const built = await buildImage(name, options);
    if (built.note) skipped.push(built.note);
    if (pushed.some((p) => p.image.name === built.name)) continue;
    const repo = `bench/${built.name}`;
    await pushImage(registry.url, repo, 'latest', built.image);
    const { layers } = built.image;
    const gzBytes = layers.reduce((n, l) => n + l.size, 0);
    const ref = `${registry.host}/${repo}:latest`;
    pushed.push({
      image: { name: built.name, source: built.source, ref, layers: layers.length, gzBytes },
      target: { host: registry.host, repo, tag: 'latest', layers: layers.map((l) => l.digest) },
    });
    options.log(`e2e: pushed ${ref} (${layers.length} layers, ${megabytes(gzBytes)} MB gz)`);
  }
  return pushed;
}

const key = (...parts: string[]) => parts.join('\0');

/** Every run of every tool, interleaved: the tools' order rotates from one run to the next. */
async function pullAll(
  pushed: readonly Pushed[],
  peers: readonly Peer[],
  options: E2eOptions,
): Promise<Map<string, PullRun[]>> {
  const runs = new Map<string, PullRun[]>();
  for (const fs of options.fs) {
    for (let run = 0; run < options.runs; run++) {
      for (const { image, target } of pushed) {
        for (const snapshotter of options.snapshotters) {
          for (let i = 0; i < peers.length; i++) {
            const peer = peers[(i + run) % peers.length]!;
            const r = await peer.pull({ fs, snapshotter, target });
            const k = key(image.name, fs, snapshotter, peer.tool);
            runs.set(k, [...(runs.get(k) ?? []), r]);
            const rss = r.peakRss ? `, peak RSS ${mebibytes(r.peakRss)} MiB` : '';
            options.log(
              `e2e: ${fs} run ${run + 1} ${image.name} ${snapshotter} ${peer.tool}: ${r.seconds.toFixed(2)} s${rss}`,
            );
          }
        }
      }
    }
  }
  return runs;
}

function tabulate(
  pushed: readonly Pushed[],
  peers: readonly Peer[],
  runs: ReadonlyMap<string, PullRun[]>,
  options: E2eOptions,
): { rows: E2eRow[]; ratios: E2eRatio[] } {
  const rows: E2eRow[] = [];
  const ratios: E2eRatio[] = [];
  for (const fs of options.fs) {
    for (const { image } of pushed) {
      for (const snapshotter of options.snapshotters) {
        const get = (tool: Tool) => runs.get(key(image.name, fs, snapshotter, tool)) ?? [];
        const strata = get('strata').map((r) => r.seconds);
        for (const { tool } of peers) {
          rows.push(row(image.name, fs, snapshotter, tool, get(tool)));
          if (tool === 'strata' || tool === 'strata fetch-only') continue;
          const peer = get(tool).map((r) => r.seconds);
          ratios.push({
            image: image.name,
            fs,
            snapshotter,
            peer: tool,
            ratio: median(strata) / median(peer),
            pairedRatio: pairedRatio(strata, peer),
          });
        }
      }
    }
  }
  return { rows, ratios };
}

function row(
  image: string,
  fs: FsKind,
  snapshotter: SnapshotterKind,
  tool: Tool,
  runs: readonly PullRun[],
): E2eRow {
  const peaks = runs.map((r) => r.peakRss ?? 0);
  const inner = runs.flatMap((r) => (r.innerSeconds === undefined ? [] : [r.innerSeconds]));
  const cpu = runs.flatMap((r) => (r.cpuSeconds === undefined ? [] : [r.cpuSeconds]));
  return {
    image,
    fs,
    snapshotter,
    tool,
    runs,
    seconds: summarize(runs.map((r) => r.seconds)),
    ...(Math.max(0, ...peaks) > 0 ? { peakRss: Math.max(...peaks) } : {}),
    ...(inner.length > 0 ? { innerSeconds: median(inner) } : {}),
    ...(cpu.length > 0 ? { cpuSeconds: median(cpu) } : {}),
  };
}

async function measureStartup(
  options: E2eOptions,
): Promise<{ startup: Summary; startupRss: number; nodeStartup: Summary }> {
  const seconds: number[] = [];
  const bare: number[] = [];
  let rss = 0;
  for (let i = 0; i < Math.max(3, options.runs); i++) {
    const args = ['--import', pathToFileURL(options.probe).href, options.strataBin, 'version'];
    const rssFile = join(dirname(options.probe), 'version-maxrss');
    const env = { ...process.env, STRATA_BENCH_RSS_FILE: rssFile };
    seconds.push(check('strata version', await timed(process.execPath, args, { env })).seconds);
    rss = Math.max(rss, readProbe(rssFile).hwm);
    bare.push(check('node -e 0', await timed(process.execPath, ['-e', '0'])).seconds);
  }
  return { startup: summarize(seconds), startupRss: rss, nodeStartup: summarize(bare) };
}

interface BuiltImage {
  readonly name: string;
  readonly source: string;
  readonly image: PushImage;
  readonly note?: string;
}

async function buildImage(name: string, options: E2eOptions): Promise<BuiltImage> {
  if (name === 'tiny') {
    const layers = [
      await generateLayer('small-files', { seed: options.seed, size: QUICK_SIZE }),
      await generateLayer('large-files', { seed: options.seed, size: QUICK_SIZE }),
    ];
    return { name, source: `generated, seed ${options.seed}`, image: imageOf(layers) };
  }
  if (name === 'trees') {
    return {
      name,
      source: 'this machine: node npm tree + /usr/share/doc',
      image: await treeImage(),
    };
  }
  const lab = await labLayout(options.labDir, name);
  if (lab) return { name, source: `lab/${name} (${options.labDir})`, image: lab.image };
  const note = `${name}: not in the lab layout ${options.labDir} (run ../shared/lab/build-images.sh); measured "trees" instead`;
  options.log(`e2e: ${note}`);
  return {
    name: 'trees',
    source: 'this machine: node npm tree + /usr/share/doc',
    image: await treeImage(),
    note,
  };
}

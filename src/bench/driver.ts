import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { type Mount, mountAll, unmountAll } from '../snapshots/index.js';
import { time } from './exec.js';
import {
  copyUp,
  createFiles,
  deleteFiles,
  pickSamples,
  readFiles,
  type Samples,
  walkTree,
} from './fs-workload.js';
import { dropCaches } from './host.js';
import type { DriverInfo, LayerSample, Phase, RunSample, UsageSample } from './results.js';
import type { Workload } from './workloads.js';

/**
 * A driver is one snapshotter of one engine (strata's overlay, containerd's native...)
 * that runs the whole sequence of phases on a workload, once per call to `run`.
 */

export interface RunContext {
  readonly workload: Workload;
  /** Measure disk usage after the unpack this run (once per workload and driver). */
  readonly usage: boolean;
  readonly signal?: AbortSignal;
}

export interface RunOutcome {
  readonly sample: RunSample;
  readonly usage?: UsageSample;
  /** strata: what the applier read (uncompressed bytes, tar entries), for the workload facts. */
  readonly applied?: { readonly bytes: number; readonly entries: number };
}

export interface BenchDriver {
  readonly info: DriverInfo;
  /** Makes the workload's content available to the engine (not measured). */
  setup(workload: Workload, signal?: AbortSignal): Promise<void>;
  run(ctx: RunContext): Promise<RunOutcome>;
  close(): Promise<void>;
}

/** What drivers share: where to mount, and how. */
export interface DriverEnv {
  /** A directory for the mount points. */
  readonly scratch: string;
  /** Drop the page cache before the unpack and before the mount (root). */
  readonly dropCaches: boolean;
  /** Real mounts (root); otherwise a single bind mount is read at its source. */
  readonly canMount: boolean;
}

export function maybeDropCaches(env: DriverEnv): void {
  if (env.dropCaches) dropCaches();
}

type Phases = Partial<Record<Phase, number>>;

/**
 * Mounts `mounts` on `<scratch>/<name>` (timed into `mount` when `timing`), or without
 * privileges uses the source of a lone bind mount. Returns the rootfs and how to undo it.
 */
async function attach(
  env: DriverEnv,
  mounts: readonly Mount[],
  name: string,
  options: { readonly: boolean },
): Promise<{ root: string; mountSeconds?: number; detach: () => Promise<number | undefined> }> {
  if (!env.canMount) {
    const [only] = mounts;
    if (mounts.length !== 1 || only?.type !== 'bind') {
      throw fail('PermissionDenied', `${only?.type ?? 'no'} mount: needs root`);
    }
    return { root: only.source, detach: async () => undefined };
  }
  const target = join(env.scratch, name);
  await mkdir(target, { recursive: true });
  const mountSeconds = await time(() => mountAll(mounts, target, options));
  return { root: target, mountSeconds, detach: () => time(() => unmountAll(target)) };
}

/** mount, walk, read, unmount on a read-only view; returns the samples for the write phases. */
export async function readPhases(
  env: DriverEnv,
  mounts: readonly Mount[],
  phases: Phases,
): Promise<Samples> {
  maybeDropCaches(env);
  const view = await attach(env, mounts, 'view', { readonly: true });
  let samples: Samples;
  try {
    if (view.mountSeconds !== undefined) phases.mount = view.mountSeconds;
    let tree: ReturnType<typeof walkTree> | undefined;
    phases.walk = await time(() => {
      tree = walkTree(view.root);
    });
    samples = pickSamples(tree!);
    phases.read = await time(() => readFiles(view.root, samples.read));
  } finally {
    const seconds = await view.detach();
    if (seconds !== undefined) phases.unmount = seconds;
  }
  return samples;
}

/** create, copy-up, delete in a mounted active snapshot (mount and unmount not timed). */
export async function writePhases(
  env: DriverEnv,
  mounts: readonly Mount[],
  samples: Samples,
  phases: Phases,
): Promise<void> {
  const rw = await attach(env, mounts, 'active', { readonly: false });
  try {
    phases.create = await time(() => createFiles(rw.root));
    phases['copy-up'] = await time(() => copyUp(rw.root, samples.copyUp));
    phases.delete = await time(() => deleteFiles(rw.root, samples.remove));
  } finally {
    await rw.detach();
  }
}

export function driverInfo(engine: 'strata' | 'containerd', snapshotter: string): DriverInfo {
  return { id: `${engine}/${snapshotter}`, label: `${engine} ${snapshotter}`, engine, snapshotter };
}

/** The prepare, apply and commit phases of a layer-by-layer unpack: each summed over the layers. */
export function layerPhases(
  layers: readonly LayerSample[],
): Pick<Record<Phase, number>, 'prepare' | 'apply' | 'commit'> {
  const sum = (key: keyof LayerSample) => layers.reduce((n, l) => n + l[key], 0);
  return { prepare: sum('prepare'), apply: sum('apply'), commit: sum('commit') };
}

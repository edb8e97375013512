import { performance } from 'node:perf_hooks';
import { applyLayer } from '../apply/index.js';
import { isCode } from '../errors.js';
import {
  diskUsage,
  type Info,
  type Snapshotter,
  type SnapshotterName,
  snapshotterDir,
} from '../snapshots/index.js';
import type { Strata } from '../strata/index.js';
import { unpackImage } from '../unpack/index.js';
import {
  type BenchDriver,
  type DriverEnv,
  driverInfo,
  layerPhases,
  maybeDropCaches,
  type RunOutcome,
  readPhases,
  writePhases,
} from './driver.js';
import { time } from './exec.js';
import type { LayerSample, Phase, UsageSample } from './results.js';
import type { Workload } from './workloads.js';

/**
 * strata's snapshotters, driven directly: each layer is prepared on its parent, applied
 * with `applyLayer` from the content store on this thread, and committed under its
 * chainID, one after the other, so that prepare, apply and commit are timed apart
 * (`unpack` is their total, applyTarget and the blob reader included). The whole-image
 * unpack through the pipeline (`unpackImage`: worker threads, parallel applies and rebase
 * on overlay) is timed as `pipeline`, from empty snapshotters too.
 */
export function strataDriver(strata: Strata, sn: Snapshotter, env: DriverEnv): BenchDriver {
  const info = driverInfo('strata', sn.name);
  return {
    info,
    setup: async () => {
      await removeAll(sn);
      await sn.cleanup();
    },
    async run({ workload, usage, signal }): Promise<RunOutcome> {
      const call = signal ? { signal } : {};
      const phases: Partial<Record<Phase, number>> = {};
      await removeAll(sn);
      maybeDropCaches(env);
      const { image } = workload;
      const top = image.chainIds.at(-1)!;
      let unpacked: Awaited<ReturnType<typeof unpackLayers>>;
      try {
        unpacked = await unpackLayers(strata, sn, workload, signal);
      } catch (err) {
        await removeAll(sn);
        throw err;
      }
      const { layers, applied } = unpacked;
      Object.assign(phases, layerPhases(layers));
      phases.unpack = unpacked.seconds;
      const measured = usage ? await usageOf(strata.root, sn, image.chainIds) : undefined;
      try {
        const samples = await readPhases(env, await sn.view('bench-view', top, call), phases);
        await sn.remove('bench-view', call);
        await writePhases(env, await sn.prepare('bench-rw', top, call), samples, phases);
        phases['write-commit'] = await time(() => sn.commit('bench-rw-done', 'bench-rw', call));
        phases.remove = await time(async () => {
          for (const key of ['bench-rw-done', ...[...image.chainIds].reverse()]) {
            await sn.remove(key, call);
          }
        });
        maybeDropCaches(env);
        phases.pipeline = await time(() =>
          unpackImage(strata.content, image, { snapshotter: sn, ...call }),
        );
      } finally {
        await removeAll(sn);
      }
      return { sample: { phases, layers }, applied, ...(measured ? { usage: measured } : {}) };
    },
    close: async () => {
      await removeAll(sn).catch(() => undefined);
    },
  };
}

/** Layer after layer: prepare, applyLayer, commit, each timed. */
async function unpackLayers(
  strata: Strata,
  sn: Snapshotter,
  workload: Workload,
  signal?: AbortSignal,
) {
  const { image } = workload;
  const call = signal ? { signal } : {};
  const layers: LayerSample[] = [];
  const applied = { bytes: 0, entries: 0 };
  const started = performance.now();
  let parent: string | undefined;
  for (const [i, layer] of image.layers.entries()) {
    const key = `bench-unpack-${i}`;
    const t0 = performance.now();
    await sn.prepare(key, parent, call);
    const t1 = performance.now();
    const target = await sn.applyTarget(key, call);
    const result = await applyLayer(await strata.content.reader(layer.digest), target.dir, {
      whiteouts: target.whiteouts,
      parents: target.parents,
      rootless: target.rootless,
      expectedDiffId: image.diffIds[i]!,
      ...call,
    });
    const t2 = performance.now();
    parent = image.chainIds[i]!;
    await sn.commit(parent, key, call);
    const t3 = performance.now();
    layers.push({ prepare: (t1 - t0) / 1000, apply: (t2 - t1) / 1000, commit: (t3 - t2) / 1000 });
    applied.bytes += result.size;
    applied.entries += result.entries;
  }
  return { layers, applied, seconds: (performance.now() - started) / 1000 };
}

/** The image's snapshots as the snapshotter reports them, and du over its directory. */
async function usageOf(root: string, sn: Snapshotter, chainIds: readonly string[]) {
  let size = 0;
  let inodes = 0;
  for (const id of chainIds) {
    const u = await sn.usage(id);
    size += u.size;
    inodes += u.inodes;
  }
  const du = await diskUsage(snapshotterDir(root, sn.name as SnapshotterName));
  return { reported: { size, inodes }, du } satisfies UsageSample;
}

/** Removes every snapshot of the snapshotter, children first. */
export async function removeAll(sn: Snapshotter): Promise<void> {
  const infos: Info[] = [];
  await sn.walk((i) => {
    infos.push(i);
  });
  const children = new Map<string, number>();
  for (const i of infos) {
    if (i.parent) children.set(i.parent, (children.get(i.parent) ?? 0) + 1);
  }
  let left = infos;
  while (left.length > 0) {
    const leaves = left.filter((i) => !children.get(i.name));
    if (leaves.length === 0) break; // a cycle cannot happen; do not spin if it does
    for (const leaf of leaves) {
      await sn.remove(leaf.name).catch((err: unknown) => {
        if (!isCode(err, 'NotFound')) throw err;
      });
      if (leaf.parent) children.set(leaf.parent, (children.get(leaf.parent) ?? 1) - 1);
    }
    left = left.filter((i) => !leaves.includes(i));
  }
}

import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { diskUsage, type Mount } from '../snapshots/index.js';
import type { Strata } from '../strata/index.js';
import type { Containerd } from './containerd.js';
import { layerTimings } from './containerd-log.js';
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
import { ociArchive } from './oci-archive.js';
import type { Phase, UsageSample } from './results.js';

/**
 * containerd's snapshotters (`overlayfs`, `native`) on the same images, through `ctr`
 * against a throwaway daemon. The blobs get in (not timed) by `ctr images import
 * --no-unpack` of an OCI archive streamed from strata's content store. Timed, each a `ctr`
 * process from spawn to exit (a call costs ~10 ms, see the results' notes):
 *
 * - unpack: `ctr snapshots unpack --snapshotter S <manifest>` (containerd's image.Unpack:
 *   per layer prepare, mount, apply through the diff service, unmount, commit); prepare,
 *   apply and commit of each layer come from the daemon's debug log (`containerd-log.ts`);
 * - write-commit: `ctr snapshots commit`;
 * - remove: `ctr snapshots rm` of the written snapshot and the image's top layer, then
 *   `ctr leases rm --sync` of an empty lease, which runs the garbage collector
 *   synchronously: it removes the layers below (nothing references them any more) and
 *   deletes the snapshot files, so they are all gone when it returns (as `ctr images rm
 *   --sync` would). Removing each layer with `ctr snapshots rm` would race the
 *   collector, which containerd also starts by itself soon after any removal.
 *
 * mount, walk, read, unmount, create, copy-up and delete run the same code as for strata
 * on the mounts `ctr snapshots mounts` prints for a view / an active snapshot. containerd
 * names committed layers by chainID, like strata. Usage: `ctr snapshots usage -b`, and du
 * over `<root>/io.containerd.snapshotter.v1.S/snapshots`.
 */
export function containerdDriver(
  ctd: Containerd,
  snapshotter: 'overlayfs' | 'native',
  strata: Strata,
  env: DriverEnv,
  imported: Set<string>,
): BenchDriver {
  const sn = (args: readonly string[], signal?: AbortSignal) =>
    ctd.ctr(['snapshots', '--snapshotter', snapshotter, ...args], signal ? { signal } : {});
  const mountsOf = async (key: string, signal?: AbortSignal) =>
    parseMounts((await sn(['mounts', '/target', key], signal)).stdout);
  const clean = async (signal?: AbortSignal) => {
    // Whatever a failed run left: remove, collect, and check that nothing is left.
    for (let pass = 0; pass < 3; pass++) {
      const keys = await listTips(sn, signal);
      if (keys.length === 0) return;
      await removeAndCollect(ctd, sn, keys, signal).catch(() => undefined);
    }
    const left = await listTips(sn, signal);
    if (left.length > 0) {
      throw fail('Internal', `containerd ${snapshotter}: cannot remove ${left.join(', ')}`);
    }
  };
  return {
    info: driverInfo('containerd', snapshotter),
    async setup(workload, signal) {
      if (!imported.has(workload.info.manifest)) {
        const ref = `bench-${workload.info.manifest.slice(7, 19)}`;
        const archive = ociArchive(strata.content, workload.image, 'latest');
        await ctd.ctr(
          [
            'images',
            'import',
            '--no-unpack',
            '--digests',
            '--base-name',
            `strata-bench/${ref}`,
            '-',
          ],
          { stdin: archive, ...(signal ? { signal } : {}) },
        );
        imported.add(workload.info.manifest);
      }
      await clean(signal);
    },
    async run({ workload, usage, signal }): Promise<RunOutcome> {
      const phases: Partial<Record<Phase, number>> = {};
      const { image } = workload;
      const top = image.chainIds.at(-1)!;
      await clean(signal);
      maybeDropCaches(env);
      const call = signal ? { signal } : {};
      const logStart = (await stat(ctd.log)).size;
      phases.unpack = (
        await ctd.ctr(
          ['snapshots', 'unpack', '--snapshotter', snapshotter, image.descriptor.digest],
          call,
        )
      ).seconds;
      const layers = layerTimings(await readFrom(ctd.log, logStart));
      if (layers.length === image.layers.length) Object.assign(phases, layerPhases(layers));
      let measured: UsageSample | undefined;
      try {
        if (usage) measured = await usageOf(ctd, sn, snapshotter, image.chainIds, signal);
        // containerd collects garbage by itself soon after any removal (the unpack's
        // commits remove its active snapshots), and a view (unlike what `ctr snapshots
        // prepare` makes) has no gc.root label: collect now, so that none is pending.
        await collect(ctd, signal);
        await sn(['view', 'bench-view', top], signal);
        const samples = await readPhases(env, await mountsOf('bench-view', signal), phases);
        await sn(['rm', 'bench-view'], signal);
        await sn(['prepare', 'bench-rw', top], signal);
        await writePhases(env, await mountsOf('bench-rw', signal), samples, phases);
        phases['write-commit'] = (
          await sn(['commit', 'bench-rw-done', 'bench-rw'], signal)
        ).seconds;
        phases.remove = await removeAndCollect(ctd, sn, ['bench-rw-done', top], signal);
      } finally {
        await clean();
      }
      const sample = layers.length === image.layers.length ? { phases, layers } : { phases };
      return { sample, ...(measured ? { usage: measured } : {}) };
    },
    close: () => clean().catch(() => undefined),
  };
}

/** The file's bytes from `offset` to its end, as text. */
async function readFrom(file: string, offset: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(Math.max(0, size - offset));
    await fh.read(buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

type Sn = (args: readonly string[], signal?: AbortSignal) => ReturnType<Containerd['ctr']>;

/**
 * Keys of the snapshots nothing is built on (`ctr snapshots ls`). Removing those and
 * collecting removes the rest: layers are then referenced by nothing.
 */
async function listTips(sn: Sn, signal?: AbortSignal): Promise<string[]> {
  const rows = (await sn(['ls'], signal)).stdout.trim().split('\n').slice(1);
  const parsed = rows
    .map((r) => r.trim().split(/\s+/))
    .filter((c) => c.length >= 2)
    .map((c) => ({ key: c[0]!, parent: c.length >= 3 ? c[1]! : '' }));
  const parents = new Set(parsed.map((x) => x.parent));
  return parsed.map((x) => x.key).filter((k) => !parents.has(k));
}

/** A synchronous garbage collection: `ctr leases rm --sync` of a new lease. */
async function collect(ctd: Containerd, signal?: AbortSignal): Promise<void> {
  const call = signal ? { signal } : {};
  const lease = (await ctd.ctr(['leases', 'create'], call)).stdout.trim();
  await ctd.ctr(['leases', 'rm', '--sync', lease], call);
}

/** `ctr snapshots rm KEYS...` + a synchronous GC; the seconds both calls took. */
async function removeAndCollect(
  ctd: Containerd,
  sn: Sn,
  keys: readonly string[],
  signal?: AbortSignal,
): Promise<number> {
  const call = signal ? { signal } : {};
  const lease = (await ctd.ctr(['leases', 'create'], call)).stdout.trim();
  const rm = await sn(['rm', ...keys], signal);
  const gc = await ctd.ctr(['leases', 'rm', '--sync', lease], call);
  return rm.seconds + gc.seconds;
}

async function usageOf(
  ctd: Containerd,
  sn: Sn,
  snapshotter: string,
  chainIds: readonly string[],
  signal?: AbortSignal,
): Promise<UsageSample> {
  const out = (await sn(['usage', '-b', ...chainIds], signal)).stdout;
  let size = 0;
  let inodes = 0;
  for (const row of out.trim().split('\n').slice(1)) {
    const [, s, i] = row.trim().split(/\s+/);
    size += Number(s) || 0;
    inodes += Number(i) || 0;
  }
  const dir = join(ctd.root, `io.containerd.snapshotter.v1.${snapshotter}`, 'snapshots');
  return { reported: { size, inodes }, du: await diskUsage(dir) };
}

/**
 * Mounts from `ctr snapshots mounts TARGET KEY` output: one `mount -t TYPE SOURCE TARGET
 * -o OPTIONS` line per mount (paths here never hold spaces: they are under our scratch dir).
 */
export function parseMounts(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const m = /^mount -t (\S+) (\S+) \S+ -o (\S+)$/.exec(line.trim());
    if (m) mounts.push({ type: m[1]!, source: m[2]!, options: m[3]!.split(',') });
  }
  return mounts;
}

import { readFile } from 'node:fs/promises';
import { fail, fromSystem } from '../errors.js';
import type { Summary } from './stats.js';

/**
 * What `strata bench snapshotters` records: every raw sample, the medians, the workloads
 * and drivers measured, what was skipped and why, and the machine. The JSON file is this
 * object; `strata bench report` reads any number of them back.
 */

export const RESULTS_KIND = 'strata-bench-snapshotters';
export const RESULTS_VERSION = 1;

/** The phases timed, in the order they run. Times are seconds. */
export type Phase =
  | 'prepare'
  | 'apply'
  | 'commit'
  | 'unpack'
  | 'pipeline'
  | 'mount'
  | 'walk'
  | 'read'
  | 'unmount'
  | 'create'
  | 'copy-up'
  | 'delete'
  | 'write-commit'
  | 'remove';

export interface PhaseInfo {
  readonly id: Phase;
  readonly label: string;
  readonly description: string;
}

export const PHASES: readonly PhaseInfo[] = [
  {
    id: 'prepare',
    label: 'prepare',
    description:
      'Snapshotter.prepare of every layer, summed (containerd: in the daemon, from its debug log)',
  },
  {
    id: 'apply',
    label: 'apply',
    description:
      "applyLayer of every layer into its snapshot, summed (containerd: the diff service's own time)",
  },
  {
    id: 'commit',
    label: 'commit',
    description:
      'Snapshotter.commit of every layer, summed (containerd: in the daemon, from its debug log)',
  },
  {
    id: 'unpack',
    label: 'unpack',
    description:
      'whole image, layer after layer: strata prepare+apply+commit; containerd `ctr snapshots unpack`',
  },
  {
    id: 'pipeline',
    label: 'unpack (pipeline)',
    description:
      "whole image through strata's unpack pipeline (unpackImage: worker threads, rebase)",
  },
  {
    id: 'mount',
    label: 'mount',
    description: "mount(2) of a read-only view of the image's rootfs",
  },
  {
    id: 'walk',
    label: 'walk',
    description: 'readdir + lstat of every entry of the mounted rootfs',
  },
  { id: 'read', label: 'read', description: 'read a sample of the files fully (up to 512 files)' },
  { id: 'unmount', label: 'unmount', description: 'umount(2) of the view' },
  {
    id: 'create',
    label: 'create',
    description: 'in an active snapshot on top: create 512 files of 4 KiB and 8 of 1 MiB',
  },
  {
    id: 'copy-up',
    label: 'copy-up',
    description:
      'overwrite 4 bytes in the middle of up to 64 lower-layer files (overlay copies them up)',
  },
  { id: 'delete', label: 'delete', description: 'delete up to 256 lower-layer files' },
  {
    id: 'write-commit',
    label: 'commit (write)',
    description: 'commit of the written active snapshot (containerd: `ctr snapshots commit`)',
  },
  {
    id: 'remove',
    label: 'remove',
    description:
      'remove every snapshot of the image and the written one (containerd: `ctr snapshots rm` of the top two, then a synchronous GC that removes the layers below and deletes the files)',
  },
];

export interface DriverInfo {
  /** `strata/overlay`, `containerd/overlayfs`, ... */
  readonly id: string;
  readonly label: string;
  readonly engine: 'strata' | 'containerd';
  readonly snapshotter: string;
}

export interface WorkloadInfo {
  readonly name: string;
  readonly kind: 'profile' | 'image';
  readonly description: string;
  /** `generated, seed 1`; the reference pulled; `oci:DIR:NAME`. */
  readonly source: string;
  /** The manifest digest. */
  readonly manifest: string;
  readonly layers: number;
  /** Compressed layer bytes. */
  readonly blobBytes: number;
  /** Uncompressed layer bytes (tars), when known. */
  readonly tarBytes?: number;
  /** Tar entries over all layers, when known. */
  readonly entries?: number;
}

/** One layer of a layer-by-layer unpack, seconds (containerd: from its debug log). */
export interface LayerSample {
  readonly prepare: number;
  readonly apply: number;
  readonly commit: number;
}

export interface RunSample {
  readonly phases: Readonly<Partial<Record<Phase, number>>>;
  readonly layers?: readonly LayerSample[];
}

export interface DiskUsage {
  readonly size: number;
  readonly inodes: number;
}

export interface UsageSample {
  /** What the snapshotter reports for the image's snapshots, summed (strata `usage`, `ctr snapshots usage`). */
  readonly reported: DiskUsage;
  /** du over the snapshotter's directory: allocated blocks, each inode once (hardlinks once). */
  readonly du: DiskUsage;
}

/** One workload on one driver. */
export interface Cell {
  readonly workload: string;
  readonly driver: string;
  readonly warmup: readonly RunSample[];
  readonly runs: readonly RunSample[];
  readonly summary: Readonly<Partial<Record<Phase, Summary>>>;
  readonly usage?: UsageSample;
  /** Set when a run failed: the runs before it are kept. */
  readonly error?: string;
}

export interface Skip {
  readonly driver?: string;
  readonly workload?: string;
  readonly reason: string;
}

export interface MachineFacts {
  readonly host: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly strataVersion: string;
  readonly strataCommit: string;
  /** The directory measured on (`--dir`) and its filesystem. */
  readonly dir: { readonly path: string; readonly fsType: string };
  /** 1-minute load average at the start and the end of the run. */
  readonly loadAverage: { readonly start: number; readonly end: number };
  readonly tools: Readonly<Record<string, string>>;
}

/** The options of a run, as recorded (`snapshotters`: as given; the results list the ids). */
export interface BenchOptionsRecord {
  /** Synthetic profiles (names, `all` expanded by the caller). */
  readonly profiles: readonly string[];
  /** `--image` references, `oci:DIR[:NAME]` or `archive:FILE`. */
  readonly images: readonly string[];
  /** `--snapshotters` items; empty: every snapshotter of every engine. */
  readonly snapshotters: readonly string[];
  readonly peers: 'containerd' | 'none';
  readonly runs: number;
  readonly warmup: number;
  /** Where the bench root, containerd's root and the mounts go (the filesystem measured). */
  readonly dir: string;
  readonly dropCaches: boolean;
  readonly seed: number;
  readonly registry: string;
}

export interface BenchResults {
  readonly kind: typeof RESULTS_KIND;
  readonly version: typeof RESULTS_VERSION;
  /** How reports name this run (`--label`, else commit and date). */
  readonly label: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly options: BenchOptionsRecord;
  readonly machine: MachineFacts;
  readonly drivers: readonly DriverInfo[];
  readonly workloads: readonly WorkloadInfo[];
  readonly skipped: readonly Skip[];
  /** Facts a reader needs to read the numbers (what a ctr call costs, ...). */
  readonly notes: readonly string[];
  readonly cells: readonly Cell[];
}

/**
 * Reads a results file written by `strata bench snapshotters --json`.
 * @throws NotFound; InvalidArgument when it is not such a file (or a newer version).
 */
export async function readResults(file: string): Promise<BenchResults> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw fromSystem(err, `results ${file}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail('InvalidArgument', `results ${file}: not JSON`);
  }
  const r = value as Partial<BenchResults> | null;
  if (r?.kind !== RESULTS_KIND) {
    throw fail('InvalidArgument', `results ${file}: not a strata bench snapshotters result`);
  }
  if (r.version !== RESULTS_VERSION) {
    throw fail('InvalidArgument', `results ${file}: version ${r.version}, this strata reads 1`);
  }
  if (!Array.isArray(r.cells) || !Array.isArray(r.workloads) || !Array.isArray(r.drivers)) {
    throw fail('InvalidArgument', `results ${file}: cells, workloads or drivers missing`);
  }
  return r as BenchResults;
}

export function phaseLabel(id: Phase): string {
  return PHASES.find((p) => p.id === id)?.label ?? id;
}

/**
 * bench: strata's benchmarks. The storage-driver benchmark (`strata bench snapshotters`,
 * issue #8): the same workloads — synthetic images generated from a seed (profiles), or
 * real images fetched first — are unpacked by each snapshotter (strata's overlay and
 * native, containerd's overlayfs and native through a throwaway daemon and `ctr`), then
 * mounted, read, written on, committed and removed, every phase timed over warm-up and
 * measured runs; results are JSON with every raw sample, a terminal table, and a
 * self-contained HTML report with inline SVG charts that also merges and compares runs.
 *
 * And the core every benchmark shares, the `npm run bench` harness (bench/, not shipped)
 * included: timing commands and functions, the machine's facts, scratch dirs and ports,
 * statistics, number and table formatting, seeded layers and tars, OCI layouts and image
 * documents, a throwaway containerd.
 */

export {
  type Containerd,
  containerdUnavailable,
  openContainerd,
  startContainerd,
} from './containerd.js';
export { check, type RunOptions, stopProcess, type Timed, time, timed, vmHwm } from './exec.js';
export {
  columns,
  fixed,
  formatBytes,
  formatSeconds,
  markdownTable,
  mebibytes,
  megabytes,
} from './format.js';
export {
  freePort,
  isRoot,
  missingCommands,
  removeTree,
  STRATA_DIR,
  scratch,
  syncAll,
  which,
} from './host.js';
export { type HtmlOptions, htmlReport } from './html.js';
export {
  blobDescriptor,
  type ImageDocument,
  type ImageDocuments,
  imageDocuments,
} from './image-documents.js';
export {
  FULL_SIZE,
  type GeneratedLayer,
  generateLayer,
  type LayerSize,
  type ProfileName,
  QUICK_SIZE,
} from './layers.js';
export {
  fsType,
  gitCommit,
  type HostFacts,
  hostFacts,
  loadAverage,
  toolVersion,
  toolVersions,
} from './machine.js';
export { layoutBlobPath, layoutIndex, refNameOf } from './oci-layout.js';
export { ALL_PROFILES, findProfile, PROFILES, type Profile } from './profiles.js';
export {
  type BenchResults,
  type Cell,
  type DriverInfo,
  PHASES,
  type Phase,
  RESULTS_KIND,
  RESULTS_VERSION,
  type RunSample,
  readResults,
  type WorkloadInfo,
} from './results.js';
export { runSnapshotterBench, type SnapshotterBenchOptions, selectDrivers } from './run.js';
export { mbps, median, pairedRatio, type Summary, summarize } from './stats.js';
export { comparisonReport, snapshotterReport } from './table.js';
export { benchReference, DEFAULT_BENCH_REGISTRY } from './workloads.js';

/**
 * bench: strata's storage-driver benchmark (`strata bench snapshotters`, issue #8) and the
 * pieces it shares with `npm run bench` (bench/): the same workloads — synthetic images
 * generated from a seed (profiles), or real images fetched first — are unpacked by each
 * snapshotter (strata's overlay and native, containerd's overlayfs and native through a
 * throwaway daemon and `ctr`), then mounted, read, written on, committed and removed, every
 * phase timed over warm-up and measured runs. Results are JSON with every raw sample, a
 * terminal table, and a self-contained HTML report with inline SVG charts that also merges
 * and compares several results.
 */

export { type Containerd, containerdUnavailable, openContainerd } from './containerd.js';
export { type HtmlOptions, htmlReport } from './html.js';
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
export { median, type Summary, summarize } from './stats.js';
export { comparisonReport, terminalReport } from './table.js';
export { benchReference, DEFAULT_BENCH_REGISTRY } from './workloads.js';

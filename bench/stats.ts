// Moved to src/bench/stats.ts (shared with `strata bench snapshotters`, issue #8).
export * from '../src/bench/stats.js';

// Moved to src/bench/layers.ts (shared with `strata bench snapshotters`, issue #8).
export * from '../src/bench/layers.js';

/** strata 0.1's `pull` namespace (see compat/index.ts). `pull.pull()` is gone: use `strata.pull`. */

export type { FetchTarget as PullTarget } from '../fetch/index.js';
export * from '../fetch/index.js';
export {
  appendSource,
  childGcLabels,
  DISTRIBUTION_SOURCE,
  distributionSourceKey,
  GC_REF_CONTENT,
} from '../labels.js';
export { platformMatcher, selectManifests } from '../oci/index.js';
export type { ProgressEvent, ProgressPhase as PullPhase } from '../progress.js';
export type { PullImageOptions as PullOptions } from '../strata/index.js';

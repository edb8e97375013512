/**
 * pull: fetching images from registries into a namespace's content store and recording
 * them: resolve → index → platform selection → manifests → config → layers (bounded
 * concurrency, resumable ingests keyed by digest) → image record, with containerd's GC and
 * distribution-source labels. Per-manifest and per-layer hooks (`onManifest`,
 * `onLayerFetched`) let unpacking run as layers land.
 */
export {
  appendSource,
  childGcLabels,
  DISTRIBUTION_SOURCE,
  distributionSourceKey,
  GC_REF_CONTENT,
} from './labels.js';
export { createLimiter, type Limiter } from './limiter.js';
export { fetchImage, pull } from './pull.js';
export { platformMatcher, selectManifests } from './select.js';
export type {
  FetchOptions,
  FetchResult,
  LayerFetched,
  LayerTap,
  ManifestFetched,
  ProgressEvent,
  PullOptions,
  PullPhase,
  PullTarget,
} from './types.js';

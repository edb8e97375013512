/**
 * fetch: getting an image's content from a registry into a namespace's content store:
 * resolve → index → platform selection → manifests → config → layers, with bounded
 * concurrency, resumable ingests keyed by digest, and containerd's GC and
 * distribution-source labels. Per-manifest and per-layer hooks (`onManifest`, `layerTap`,
 * `onLayerFetched`) let the unpacker run as layers land. Recording the image is the pull
 * operation's (`strata/`).
 */
export { fetchImage } from './fetch-image.js';
export { createLimiter, type Limiter } from './limiter.js';
export { type BlobContext, ensureBlob, storeManifest } from './store.js';
export type {
  FetchOptions,
  FetchResult,
  FetchTarget,
  LayerFetched,
  LayerTap,
  ManifestFetched,
} from './types.js';

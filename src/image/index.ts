/**
 * image: what strata does with images beyond fetching them — read an image's manifests
 * for a platform (config, layers, diffIDs, chainIDs); unpack its layers into committed
 * snapshots named by chainID through one pipeline (layers applied in worker threads, in
 * parallel where the snapshotter can rebase, fed straight from the download during a
 * pull, committed in order once both digests are verified); pull (fetch + unpack +
 * record); and mount a rootfs read-only.
 */

export {
  OPERATION_LEASE_MS,
  type PullImageOptions,
  pullImage,
  underLease,
} from '../strata/index.js';
export {
  describeImage,
  describePlatform,
  type ImageManifest,
  imageManifests,
  type ManifestsOptions,
} from './manifests.js';
export { mountImage, mountKey, unmountImage } from './mount.js';
export { ManifestUnpack, type PipelineOptions, type UnpackResult } from './pipeline.js';
export { labelConfig, type UnpackOptions, unpackImage } from './unpack.js';

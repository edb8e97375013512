/**
 * image: what strata does with an image already in the content store — read its
 * manifests for a platform (config, layers, diffIDs, chainIDs), unpack its layers into
 * committed snapshots named by chainID, and mount its rootfs read-only.
 */
export {
  describePlatform,
  type ImageManifest,
  imageManifests,
  type ManifestsOptions,
} from './manifests.js';
export { MOUNT_TARGET_LABEL, mountImage, mountKey, unmountImage } from './mount.js';
export { type PullImageOptions, pullImage } from './pull.js';
export {
  GC_REF_SNAPSHOT,
  type UnpackOptions,
  type UnpackResult,
  unpackImage,
  unpackLayer,
} from './unpack.js';

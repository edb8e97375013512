/**
 * image: an image as stored — its manifests for a platform (config, layers, diffIDs,
 * chainIDs, checked for consistency), and a read-only mount of its unpacked rootfs.
 */
export {
  describeImage,
  describePlatform,
  type ImageManifest,
  imageManifests,
  type ManifestsOptions,
} from './manifests.js';
export { mountImage, mountKey, unmountImage } from './mount.js';

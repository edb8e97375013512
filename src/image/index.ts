/**
 * image: an image as stored — its manifests for a platform (config, layers, diffIDs,
 * chainIDs, checked for consistency), and a read-only mount of its unpacked rootfs.
 */
export {
  configPlatform,
  describeImage,
  describePlatform,
  type ImageManifest,
  imageManifests,
  type ManifestsOptions,
} from './manifests.js';
export { mountImage, mountKey, unmountImage } from './mount.js';
export { storeReader } from './store-reader.js';
export {
  type ArtifactNode,
  type ChildDecision,
  type ImageReader,
  type IndexNode,
  type ManifestNode,
  type ReadOptions,
  type ReadRole,
  type RunChildren,
  type Visitor,
  type WalkNode,
  type WalkOptions,
  walkImage,
} from './walk.js';

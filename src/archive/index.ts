/**
 * archive: images in and out of files, for machines without a registry. `importArchive`
 * reads OCI image layouts (tars and directories, as skopeo, umoci, crane, buildah,
 * containerd and strata write them) and docker-save tars (manifest.json 1.2, layers stored
 * or symlinked), plain, gzip or zstd, in one streaming pass: member names are checked
 * before use, every blob is verified against its digest on its way into the content store,
 * JSON members are capped, names are normalized, layers are unpacked as they stream by
 * where the archive order allows, and images are recorded last, all together (a failed
 * import records none). `exportImages` streams images from the content store into an OCI
 * layout tar that containerd, skopeo and `docker load` all read (or a layout directory, or
 * docker-save's format). `preloadCreate` pulls a list of references into one bundle;
 * `preloadApply` imports and unpacks a bundle into a root, resumably.
 */

export { exportImages } from './export.js';
export { type ExportImage, planExport } from './export-plan.js';
export { importArchive } from './import.js';
export { MAX_JSON_MEMBER } from './layout.js';
export { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, ociRefName } from './names.js';
export { parsePreloadList, preloadApply, preloadCreate } from './preload.js';
export type {
  ArchiveFormat,
  CommonOptions,
  ExportOptions,
  ExportResult,
  ImportedImage,
  ImportOptions,
  PlatformOptions,
  PreloadApplyOptions,
  PreloadCreateOptions,
  PreloadCreateResult,
} from './types.js';

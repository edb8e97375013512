/** strata 0.1's `image` namespace (see compat/index.ts). */
export * from '../image/index.js';
export { GC_REF_SNAPSHOT, MOUNT_TARGET_LABEL } from '../labels.js';
export {
  OPERATION_LEASE_MS,
  type PullImageOptions,
  pullImage,
  underLease,
} from '../strata/index.js';
export {
  labelConfig,
  ManifestUnpack,
  type UnpackOptions as PipelineOptions,
  type UnpackOptions,
  type UnpackResult,
  unpackImage,
} from '../unpack/index.js';

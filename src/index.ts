/**
 * strata's public library API.
 *
 * ```ts
 * import { openStrata } from 'strata';
 * const strata = await openStrata({ root: '/var/lib/strata' });
 * const image = await strata.pull('docker.io/library/alpine:latest', { onProgress: console.log });
 * ```
 *
 * The modules are namespaces (`content`, `fetch`, `apply`, `unpack`, ...); the façade
 * (`openStrata` and its operations) and the OCI model are at the top level. 0.1's `pull`,
 * `image` and `unpack` namespaces keep their old contents through this release
 * (CHANGELOG.md).
 */

export * as apply from './apply/index.js';
export * as archive from './archive/index.js';
export { image, pull, unpack } from './compat/index.js';
export * as content from './content/index.js';
export { type ErrorCode, isCode, StrataError } from './errors.js';
export * as fetch from './fetch/index.js';
export * as gc from './gc/index.js';
export * as labels from './labels.js';
export * as metadata from './metadata/index.js';
export * from './oci/index.js';
export type { ProgressEvent, ProgressPhase } from './progress.js';
export * as registry from './registry/index.js';
export * as snapshots from './snapshots/index.js';
export {
  defaultNamespace,
  defaultRoot,
  OPERATION_LEASE_MS,
  openStrata,
  type PullImageOptions,
  pullImage,
  type RootOptions,
  type Strata,
  underLease,
} from './strata/index.js';
export { VERSION } from './version.js';

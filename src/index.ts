/**
 * strata's public library API.
 *
 * ```ts
 * import { openStrata } from 'strata';
 * const strata = await openStrata({ root: '/var/lib/strata' });
 * const image = await strata.pull('docker.io/library/alpine:latest', { onProgress: console.log });
 * ```
 */

export * as unpack from './apply/index.js';
export * as archive from './archive/index.js';
export * as content from './content/index.js';
export { type ErrorCode, isCode, StrataError } from './errors.js';
export * as pull from './fetch/index.js';
export * as image from './image/index.js';
export * as metadata from './metadata/index.js';
export * from './oci/index.js';
export * as registry from './registry/index.js';
export * as snapshots from './snapshots/index.js';
export {
  defaultNamespace,
  defaultRoot,
  openStrata,
  type RootOptions,
  type Strata,
} from './strata/index.js';
export { VERSION } from './version.js';

/**
 * strata's public library API.
 *
 * ```ts
 * import { openStrata } from 'strata';
 * const strata = await openStrata({ root: '/var/lib/strata' });
 * ```
 */

export * as content from './content/index.js';
export { type ErrorCode, isCode, StrataError } from './errors.js';
export * as metadata from './metadata/index.js';
export * from './oci/index.js';
export {
  defaultNamespace,
  defaultRoot,
  openStrata,
  type RootOptions,
  type Strata,
} from './root.js';
export * as snapshots from './snapshots/index.js';
export { VERSION } from './version.js';

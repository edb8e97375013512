/**
 * strata: the façade on top of the modules. `openStrata` opens a root (database, blob
 * store, snapshotters) seen from one namespace; its operations (the pull, `underLease`)
 * compose the modules below (fetch, unpack, image, gc). No module below imports this one;
 * operations that work on a whole `Strata` (archives, the CLI) sit above it.
 */
export { OPERATION_LEASE_MS, underLease } from './lease.js';
export { defaultNamespace, defaultRoot, openStrata } from './open.js';
export { pullImage } from './pull.js';
export type { PullImageOptions, RootOptions, Strata } from './types.js';

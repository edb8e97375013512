/** strata 0.1's `unpack` namespace, the layer applier, now `apply` (see compat/index.ts). */
export * from '../apply/index.js';
export * from '../unpack/index.js';

/**
 * compat: the library namespaces of strata 0.1 whose contents moved (CHANGELOG.md, 0.2.0),
 * kept so that code written against 0.1 keeps working through this release. Nothing inside
 * strata imports this module; it is removed in the next release.
 *
 * - `pull` (0.1's `src/pull/`) is `fetch` plus the labels and platform selection that now
 *   live in `labels` and the top level;
 * - `unpack` (0.1's layer applier) is now `apply`; the name `unpack` now means the image
 *   unpacker, whose exports are here too;
 * - `image` held the pull, the unpacker and leases as well; they are in `strata` and
 *   `unpack` now.
 */
export * as image from './image.js';
export * as pull from './pull.js';
export * as unpack from './unpack.js';

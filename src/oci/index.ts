/**
 * oci: the image-spec model — digests, descriptors, media types, manifests, indexes,
 * configs, platforms, references, chainIDs — and its validation. Pure: no I/O.
 */
export * from './chain-id.js';
export * from './descriptor.js';
export * from './digest.js';
export * from './manifest.js';
export * from './media-types.js';
export * from './platform.js';
export * from './reference.js';
export * from './select.js';

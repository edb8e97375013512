import type { FetchOptions } from '../fetch/index.js';
import type { Image } from '../metadata/index.js';
import type { Digest, Platform, PlatformMatcher } from '../oci/index.js';
import type { ProgressEvent } from '../progress.js';
import type { SnapshotterName } from '../snapshots/index.js';

/**
 * The archive vocabulary: an *archive* is a tar (plain, gzip or zstd) or a directory; its
 * *members* are named by untrusted paths; a *blob* is a member stored in the content store
 * under its digest; an *entry* is one image named in `index.json` (OCI) or `manifest.json`
 * (docker-save).
 */

/** `oci`: an OCI image layout (with a docker `manifest.json` too); `docker`: docker-save. */
export type ArchiveFormat = 'oci' | 'docker';

/** Which platforms of an index an operation keeps. */
export interface PlatformOptions {
  /** `os/arch[/variant]`, a Platform or a matcher; default: this host (and what it runs). */
  readonly platform?: string | Platform | PlatformMatcher;
  /** Several platforms, each kept when present (preload bundles for mixed machines). */
  readonly platforms?: readonly (string | Platform)[];
  /** Keep every platform of an index. */
  readonly allPlatforms?: boolean;
}

export interface CommonOptions {
  readonly signal?: AbortSignal;
  /** Progress events, like a pull's: per blob (`importing`/`exporting`, `done`, `exists`), per layer unpack. */
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly onWarning?: (message: string) => void;
}

export interface ExportOptions extends PlatformOptions, CommonOptions {
  /** Default `oci`. */
  readonly format?: ArchiveFormat;
}

export interface ExportResult {
  /** The images written, by name, with their targets. */
  readonly images: readonly { readonly name: string; readonly digest: Digest }[];
  /** Blobs written and their total size in bytes (uncompressed layers for `docker`). */
  readonly blobs: number;
  readonly bytes: number;
}

export interface ImportOptions extends PlatformOptions, CommonOptions {
  /** Unpack each image (the best match for `platform`, default this host) into snapshots. */
  readonly unpack?: boolean;
  /**
   * The repository for entries named by a tag only (`v1` becomes `BASE:v1`) or not named
   * (`BASE@sha256:...`); full names in the archive are kept.
   */
  readonly baseName?: string;
  /** Default: overlay as root where overlayfs works, else native. */
  readonly snapshotter?: SnapshotterName;
  /** Layers applied at once, in worker threads (default: the number of CPUs). */
  readonly maxConcurrentUnpacks?: number;
  /**
   * With `unpack`: an image with no manifest for `platform` but only one platform in the
   * archive is unpacked for that one (a bundle made for another machine) instead of failing.
   */
  readonly unpackSinglePlatform?: boolean;
}

/** One image an import recorded. */
export interface ImportedImage {
  readonly image: Image;
  /** `created`: new name; `updated`: the name pointed elsewhere; `unchanged`: same target. */
  readonly status: 'created' | 'updated' | 'unchanged';
  /** The snapshot holding its rootfs, when unpacked. */
  readonly chainId?: Digest;
  /** The platform unpacked, when unpacked. */
  readonly platform?: Platform;
  /** Layers this import applied (0 when the rootfs was already unpacked), when unpacked. */
  readonly layersUnpacked?: number;
}

export interface PreloadCreateOptions extends CommonOptions {
  /** One or several platforms (default: this host); `allPlatforms` keeps them all. */
  readonly platforms?: readonly string[];
  readonly allPlatforms?: boolean;
  /** Registry settings, as for a pull. */
  readonly fetch?: Omit<
    FetchOptions,
    | 'platform'
    | 'allPlatforms'
    | 'signal'
    | 'onProgress'
    | 'onManifest'
    | 'layerTap'
    | 'onLayerFetched'
  >;
}

export interface PreloadCreateResult extends ExportResult {
  /** The references pulled, normalized, in list order. */
  readonly refs: readonly string[];
}

export interface PreloadApplyOptions extends CommonOptions {
  /** Unpack every image (default true). */
  readonly unpack?: boolean;
  /** The platform to unpack (default: this host; a bundle for one other platform: that one). */
  readonly platform?: string;
  readonly snapshotter?: SnapshotterName;
  readonly maxConcurrentUnpacks?: number;
}

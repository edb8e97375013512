import type { Store } from '../content/index.js';
import type {
  Descriptor,
  Digest,
  ImageConfig,
  Manifest,
  Platform,
  PlatformChoice,
  Reference,
} from '../oci/index.js';
import type { ProgressEvent } from '../progress.js';
import type { RegistryClient, RegistryClientOptions } from '../registry/index.js';

/** Where a fetch puts what it fetches: a namespace's content store. */
export interface FetchTarget {
  readonly content: Store;
}

/** A layer whose blob is verified and committed, for a per-layer step such as unpacking. */
export interface LayerFetched {
  /** The normalized reference being pulled. */
  readonly name: string;
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  /** The image config when it is a known image config type. */
  readonly imageConfig?: ImageConfig;
  readonly platform?: Platform;
  /** The layer's position in the manifest (0 = base). */
  readonly index: number;
  readonly layer: Descriptor;
  /** The layer's diffID from the config, when the config lists it. */
  readonly diffId?: Digest;
}

/** A manifest about to have its layers fetched (e.g. to prepare snapshots). */
export interface ManifestFetched {
  readonly name: string;
  readonly descriptor: Descriptor;
  readonly manifest: Manifest;
  readonly config: Descriptor;
  readonly imageConfig?: ImageConfig;
  readonly platform?: Platform;
}

export interface FetchOptions extends RegistryClientOptions, PlatformChoice {
  /** Blobs downloaded at once (default 3). */
  readonly maxConcurrentDownloads?: number;
  readonly signal?: AbortSignal;
  /** Progress events, throttled per blob (about 10 per second while downloading). */
  readonly onProgress?: (event: ProgressEvent) => void;
  /**
   * An existing client (shares pools and tokens); else one is made from these options
   * (credentials default to docker's config.json and credential helpers) and closed.
   */
  readonly client?: RegistryClient;
  /** Called once per image manifest, after its config is stored, before its layers. */
  readonly onManifest?: (
    manifest: ManifestFetched,
    options: { signal: AbortSignal },
  ) => Promise<void>;
  /**
   * Called when a layer's download starts from an empty ingest; a tap returned sees every
   * byte as it is stored (a resumed ingest, or a blob already stored, gets no tap).
   */
  readonly layerTap?: (layer: LayerFetched) => LayerTap | undefined;
  /**
   * Called for each layer once its blob is committed, inside the layer's download slot;
   * layers of one manifest may complete in any order. A rejection fails the pull (no
   * image is recorded). The unpacker plugs in here.
   */
  readonly onLayerFetched?: (
    layer: LayerFetched,
    options: { signal: AbortSignal },
  ) => Promise<void>;
}

/**
 * Sees a layer's bytes as they are written into the content store, in order, for a
 * one-pass unpack (see `FetchOptions.layerTap`).
 */
export interface LayerTap {
  /** The next bytes; the download waits on the returned promise (backpressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** The bytes so far are void (the ingest restarted): the tap must not expect more. */
  detach(): void;
  /** The blob is complete and committed: every byte was written, verified by digest. */
  end(): void;
  /** The download failed: no more bytes will come. */
  fail(err: unknown): void;
}

export interface FetchResult {
  readonly ref: Reference;
  /** The normalized reference: the image record's name. */
  readonly name: string;
  /** The resolved top descriptor (index or manifest). */
  readonly target: Descriptor;
  /** The image manifests fetched (one per selected platform). */
  readonly manifests: readonly Descriptor[];
  /** Every blob the pull touched (fetched or already present). */
  readonly blobs: readonly Descriptor[];
}

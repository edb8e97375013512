/**
 * The progress vocabulary every long operation shares (fetch, unpack, import, export, and
 * the CLI that draws them): an event says what is happening (`phase`) to one item (`id`: a
 * digest, or a reference or archive while it is being read), with byte counts when known.
 * The phases are a closed set, so a renderer can handle each one.
 */
export type ProgressPhase =
  /** A reference is being resolved to a descriptor (`id` is the reference). */
  | 'resolving'
  /** Resolved; `message` holds the digest. */
  | 'resolved'
  /** A blob waits for a download slot. */
  | 'waiting'
  | 'downloading'
  /** A request failed and is retried; `message` says why. */
  | 'retrying'
  /** An archive is being read (`id` is the archive). */
  | 'reading'
  /** A blob is being copied in from an archive. */
  | 'importing'
  /** A blob is being written into an archive or layout. */
  | 'exporting'
  /** A layer is being applied into a snapshot. */
  | 'unpacking'
  | 'unpacked'
  /** The item is complete. */
  | 'done'
  /** The item was already there: nothing moved. */
  | 'exists';

export interface ProgressEvent {
  readonly phase: ProgressPhase;
  readonly id: string;
  /** What the item is: index, manifest, config, layer, blob, archive. */
  readonly kind?: string;
  readonly done?: number;
  readonly total?: number;
  /** One line for humans (a retry's reason); never credentials. */
  readonly message?: string;
}

/** Phases that move bytes: drawn as bars on a terminal, throttled in JSON. */
export const BYTE_PHASES: ReadonlySet<ProgressPhase> = new Set([
  'downloading',
  'reading',
  'importing',
  'exporting',
]);

/** Phases after which nothing more happens to the item. */
export const FINAL_PHASES: ReadonlySet<ProgressPhase> = new Set(['done', 'exists']);

import { type Duplex, type DuplexOptions, pipeline, Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { abortError, fail, isCode } from '../errors.js';
import type { Compression } from '../oci/index.js';
import { chunksOf } from './chunks.js';
import { createZstdDecompressor, type ZstdImplementation } from './zstd.js';

/** A layer blob as bytes: any async iterable of chunks, or a Node readable stream. */
export type LayerSource = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

export interface DecompressOptions {
  readonly signal?: AbortSignal;
  /** Force a zstd implementation (tests, benchmarks); default: the fastest available. */
  readonly zstd?: ZstdImplementation | undefined;
  /** Called once the compression is known from the magic bytes. */
  readonly onCompression?: (compression: Compression) => void;
}

/**
 * The compression of a blob from its first bytes: gzip (1f 8b), zstd (28 b5 2f fd, or a
 * skippable frame: 5X 2a 4d 18), else none (a tar starts with a file name).
 * @throws InvalidArgument for xz, which OCI layers do not use.
 */
export function detectCompression(head: Uint8Array): Compression {
  const [a, b, c, d] = head;
  if (a === 0x1f && b === 0x8b) return 'gzip';
  if (a === 0x28 && b === 0xb5 && c === 0x2f && d === 0xfd) return 'zstd';
  if (a !== undefined && (a & 0xf0) === 0x50 && b === 0x2a && c === 0x4d && d === 0x18) {
    return 'zstd';
  }
  if (a === 0xfd && b === 0x37 && c === 0x7a && d === 0x58 && head[4] === 0x5a && head[5] === 0) {
    throw fail('InvalidArgument', 'layer: xz compression is not supported');
  }
  return 'none';
}

const MAGIC_BYTES = 6;

/**
 * Decompresses a layer blob by its magic bytes (gzip via node:zlib, zstd, or none) into a
 * Readable of the uncompressed tar stream. Never buffers more than a chunk.
 * The Readable fails with `InvalidArgument` on corrupt data, `Aborted` on abort.
 */
export function decompress(source: LayerSource, options: DecompressOptions = {}): Readable {
  const out = Readable.from(decompressedChunks(source, options), { objectMode: false });
  if (options.signal) {
    const { signal } = options;
    const onAbort = () => out.destroy(abortError(signal));
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      out.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  return out;
}

/**
 * The same as `decompress`, as an async generator (one stage less on the hot path); the
 * caller handles `signal`. Returning early (break, throw) releases the source and any
 * zstd process.
 */
export async function* decompressedChunks(
  source: LayerSource,
  options: DecompressOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const chunks = iterate(source);
  const head: Uint8Array[] = [];
  let have = 0;
  try {
    while (have < MAGIC_BYTES) {
      const next = await chunks.next();
      if (next.done) break;
      head.push(next.value);
      have += next.value.length;
    }
    const compression = detectCompression(Buffer.concat(head).subarray(0, MAGIC_BYTES));
    options.onCompression?.(compression);
    if (compression === 'none') {
      yield* head;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        yield next.value;
      }
      return;
    }
    const stage = stageFor(compression, options);
    const feed = Readable.from(rest(head, chunks), { objectMode: false });
    pipeline(feed, stage, () => {});
    try {
      yield* chunksOf(stage);
    } catch (err) {
      throw asLayerError(err, compression);
    }
  } finally {
    await chunks.return?.();
  }
}

async function* rest(head: Uint8Array[], chunks: AsyncIterator<Uint8Array>) {
  yield* head;
  for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
    yield next.value;
  }
}

/** The source's chunks, without the copies a Readable's own iterator makes. */
function iterate(source: LayerSource): AsyncIterator<Uint8Array> {
  if (source instanceof Readable) return chunksOf(source);
  if (Symbol.asyncIterator in source) {
    return (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  }
  return chunksOf(new Readable().wrap(source));
}

function stageFor(compression: 'gzip' | 'zstd', options: DecompressOptions): Duplex {
  // A deep output buffer lets inflate (on the libuv threadpool) run ahead while the main
  // thread applies entries; with the default 16 KiB the two take turns.
  if (compression === 'gzip') {
    const stream: zlib.ZlibOptions & DuplexOptions = {
      chunkSize: 1024 * 1024,
      readableHighWaterMark: 8 * 1024 * 1024,
    };
    return zlib.createGunzip(stream);
  }
  return createZstdDecompressor(options.zstd);
}

function asLayerError(err: unknown, compression: string) {
  if (isCode(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return fail('InvalidArgument', `layer: ${compression}: ${(err as Error).message}`, err);
  }
  return err;
}

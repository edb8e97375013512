import {
  BLOCK,
  cString,
  invalid,
  isZero,
  numeric,
  type Pending,
  padding,
  parsePax,
  type TarEntry,
  toEntry,
  verifyChecksum,
} from './tar-header.js';

export type { TarEntry, TarEntryType } from './tar-header.js';

/** Receives the data of one entry, in order; `end` after the last byte. */
export interface TarBodySink {
  write(chunk: Uint8Array): void;
  end(): void;
}

/** Called once per entry; returns a sink for its data, or undefined to discard it. */
export type TarEntryHandler = (entry: TarEntry) => TarBodySink | undefined;

export interface TarReader {
  /** Parses `chunk`, calling the handler synchronously. Ignored once `done`. */
  push(chunk: Uint8Array): void;
  /**
   * Declares the end of the stream.
   * @throws InvalidArgument when the archive is truncated inside a header or an entry.
   */
  end(): void;
  /** True once the end-of-archive marker has been read. */
  readonly done: boolean;
}

/** Caps on what is buffered for one header: PAX records, GNU long names. */
const MAX_PAX = 8 * 1024 * 1024;
const MAX_LONG_NAME = 64 * 1024;

type State = 'header' | 'data' | 'padding' | 'meta' | 'done';

/**
 * A synchronous push parser for tar streams: ustar, GNU (long names `L`/`K`, base-256
 * numbers) and PAX (`x` records: path, linkpath, size, uid, gid, mtime, atime and
 * `SCHILY.xattr.*` with binary values). It follows Go's archive/tar — the reader behind
 * containerd and umoci — wherever tar readers disagree, so a layer means the same thing
 * here as there:
 * - header-only types (links, devices, directories, fifos) carry no data whatever their size;
 * - two zero blocks end the archive and anything after them is not parsed (the caller still
 *   hashes it); one zero block then end of stream also ends it; a zero block followed by a
 *   non-zero block is an error;
 * - PAX global headers (`g`) are ignored, as containerd does.
 *
 * Entry data is handed out as views of the pushed chunks, never copied.
 */
export function createTarReader(onEntry: TarEntryHandler): TarReader {
  const block = Buffer.alloc(BLOCK);
  let filled = 0; // bytes of `block` (header) or `metaBuf` (meta body) gathered so far
  let state: State = 'header';
  let offset = 0; // stream offset of the next byte
  let remaining = 0; // data or padding bytes left
  let sink: TarBodySink | undefined;
  let zeroBlocks = 0;
  let pending: Pending = {};
  let metaType = '';
  let metaBuf: Buffer = block;
  let metaSize = 0;
  let headerAt = 0;

  function onHeader(h: Buffer): void {
    if (isZero(h)) {
      zeroBlocks++;
      if (zeroBlocks === 2) state = 'done';
      return;
    }
    if (zeroBlocks > 0) throw invalid(headerAt, 'data after an end-of-archive block');
    verifyChecksum(h, headerAt);
    const typeflag = String.fromCharCode(h[156] ?? 0);
    const size = numeric(h, 124, 12, headerAt, 'size');
    switch (typeflag) {
      case 'x':
      case 'g':
      case 'L':
      case 'K':
        startMeta(typeflag, size);
        return;
    }
    const entry = toEntry(h, typeflag, size, headerAt, pending);
    pending = {};
    const dataSize = entry.size;
    sink = onEntry(entry);
    remaining = dataSize;
    if (dataSize === 0) endEntry();
    else state = 'data';
  }

  function startMeta(typeflag: string, size: number): void {
    const cap = typeflag === 'x' || typeflag === 'g' ? MAX_PAX : MAX_LONG_NAME;
    if (size > cap) throw invalid(headerAt, `extended header of ${size} bytes exceeds ${cap}`);
    metaType = typeflag;
    metaSize = size;
    metaBuf = Buffer.allocUnsafe(size);
    filled = 0;
    remaining = padding(size);
    state = size === 0 ? 'padding' : 'meta';
    if (size === 0) finishMeta();
  }

  function finishMeta(): void {
    switch (metaType) {
      case 'x':
        pending.pax = parsePax(metaBuf.subarray(0, metaSize), headerAt);
        break;
      case 'g':
        break; // ignored, as Go's archive/tar + containerd do
      case 'L':
        pending.longName = cString(metaBuf.subarray(0, metaSize), pending);
        break;
      case 'K':
        pending.longLink = cString(metaBuf.subarray(0, metaSize), pending);
        break;
    }
    metaBuf = block;
    if (remaining === 0) state = 'header';
    else state = 'padding';
  }

  function endEntry(): void {
    const s = sink;
    sink = undefined;
    s?.end();
  }

  function push(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    while (i < n && state !== 'done') {
      switch (state) {
        case 'header': {
          if (filled === 0 && n - i >= BLOCK) {
            headerAt = offset;
            const h = Buffer.from(chunk.buffer, chunk.byteOffset + i, BLOCK);
            i += BLOCK;
            offset += BLOCK;
            onHeader(h);
            break;
          }
          const take = Math.min(BLOCK - filled, n - i);
          if (filled === 0) headerAt = offset;
          block.set(chunk.subarray(i, i + take), filled);
          filled += take;
          i += take;
          offset += take;
          if (filled === BLOCK) {
            filled = 0;
            onHeader(block);
          }
          break;
        }
        case 'data': {
          const take = Math.min(remaining, n - i);
          if (sink !== undefined) sink.write(chunk.subarray(i, i + take));
          i += take;
          offset += take;
          remaining -= take;
          if (remaining === 0) {
            remaining = padding(offset); // data starts block-aligned
            endEntry();
            state = remaining === 0 ? 'header' : 'padding';
          }
          break;
        }
        case 'meta': {
          const take = Math.min(metaSize - filled, n - i);
          metaBuf.set(chunk.subarray(i, i + take), filled);
          filled += take;
          i += take;
          offset += take;
          if (filled === metaSize) {
            filled = 0;
            finishMeta();
          }
          break;
        }
        case 'padding': {
          const take = Math.min(remaining, n - i);
          i += take;
          offset += take;
          remaining -= take;
          if (remaining === 0) state = 'header';
          break;
        }
      }
    }
  }

  function end(): void {
    if (state === 'done') return;
    const clean = state === 'header' && filled === 0;
    if (!clean) throw invalid(offset, 'truncated archive');
    if (pending.pax || pending.longName !== undefined || pending.longLink !== undefined) {
      throw invalid(offset, 'truncated archive: extended header without an entry');
    }
    state = 'done';
  }

  return {
    push,
    end,
    get done() {
      return state === 'done';
    },
  };
}

import { isUtf8 } from 'node:buffer';
import { fail } from '../errors.js';

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

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  /** The name as written (PAX `path`, GNU long name or ustar prefix + name), not cleaned. */
  readonly name: string;
  readonly type: TarEntryType;
  /** Symlink target or hardlink target name; '' when none. */
  readonly linkname: string;
  /** Bytes of data that follow (0 for header-only types). */
  readonly size: number;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch, fractional when PAX gives sub-second precision. */
  readonly mtime: number;
  readonly atime: number | undefined;
  readonly devmajor: number;
  readonly devminor: number;
  /** From PAX `SCHILY.xattr.NAME` records; values are raw bytes. */
  readonly xattrs: ReadonlyMap<string, Buffer> | undefined;
  /** Byte offset of the entry's header in the tar stream (for error messages). */
  readonly offset: number;
  /** True when the name or linkname held bytes that are not UTF-8 (decoded lossily). */
  readonly lossyName: boolean;
}

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

const BLOCK = 512;
/** Caps on what is buffered for one header: PAX records, GNU long names. */
const MAX_PAX = 8 * 1024 * 1024;
const MAX_LONG_NAME = 64 * 1024;
const utf8 = new TextDecoder('utf-8');

type State = 'header' | 'data' | 'padding' | 'meta' | 'done';

interface Pending {
  longName?: string;
  longLink?: string;
  pax?: Map<string, Buffer>;
  lossy?: boolean;
}

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

function toEntry(
  h: Buffer,
  typeflag: string,
  headerSize: number,
  at: number,
  pending: Pending,
): TarEntry {
  const pax = pending.pax;
  const format = formatOf(h);
  let lossy = pending.lossy ?? false;
  const str = (start: number, length: number): string => {
    const bytes = field(h, start, length);
    if (!isUtf8(bytes)) lossy = true;
    return utf8.decode(bytes);
  };
  let name = str(0, 100);
  if (format === 'ustar') {
    const prefix = str(345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  let linkname = str(157, 100);
  if (pending.longName !== undefined) name = pending.longName;
  if (pending.longLink !== undefined) linkname = pending.longLink;
  const paxPath = paxString(pax, 'path');
  if (paxPath !== undefined) name = paxPath;
  const paxLink = paxString(pax, 'linkpath');
  if (paxLink !== undefined) linkname = paxLink;

  const type = entryType(typeflag, name, at);
  let size = paxNumber(pax, 'size', at) ?? headerSize;
  if (type !== 'file') size = 0; // header-only types carry no data (Go's archive/tar)
  const mode = numeric(h, 100, 8, at, 'mode') & 0o7777;
  const uid = paxNumber(pax, 'uid', at) ?? numeric(h, 108, 8, at, 'uid');
  const gid = paxNumber(pax, 'gid', at) ?? numeric(h, 116, 8, at, 'gid');
  const mtime = paxTime(pax, 'mtime', at) ?? numeric(h, 136, 12, at, 'mtime');
  const atime = paxTime(pax, 'atime', at);
  const isDevice = type === 'char' || type === 'block';
  const devmajor = isDevice ? numeric(h, 329, 8, at, 'devmajor') : 0;
  const devminor = isDevice ? numeric(h, 337, 8, at, 'devminor') : 0;
  return {
    name,
    type,
    linkname,
    size,
    mode,
    uid,
    gid,
    mtime,
    atime,
    devmajor,
    devminor,
    xattrs: pax === undefined ? undefined : xattrsOf(pax),
    offset: at,
    lossyName: lossy,
  };
}

function entryType(typeflag: string, name: string, at: number): TarEntryType {
  switch (typeflag) {
    case '\0':
      // Old (pre-POSIX) archives mark directories with a trailing slash only.
      return name.endsWith('/') ? 'directory' : 'file';
    case '0':
    case '7': // contiguous file: a regular file everywhere that matters
      return 'file';
    case '1':
      return 'link';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'directory';
    case '6':
      return 'fifo';
    case 'S':
      throw invalid(at, 'GNU sparse files are not supported');
    default:
      throw invalid(at, `unsupported entry type ${JSON.stringify(typeflag)}`);
  }
}

type Format = 'ustar' | 'gnu' | 'v7';

function formatOf(h: Buffer): Format {
  // "ustar\0" "00" is POSIX; "ustar " " \0" is GNU (whose prefix area holds other fields).
  if (h[257] === 0x75 && h[258] === 0x73 && h[259] === 0x74 && h[260] === 0x61 && h[261] === 0x72) {
    return h[262] === 0 ? 'ustar' : 'gnu';
  }
  return 'v7';
}

function isZero(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i += 8) {
    if (h.readBigUInt64LE(i) !== 0n) return false;
  }
  return true;
}

function verifyChecksum(h: Buffer, at: number): void {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (h[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  const want = numeric(h, 148, 8, at, 'checksum');
  if (want !== unsigned && want !== signed) throw invalid(at, 'header checksum mismatch');
}

/** An octal field (NUL/space padded) or a GNU base-256 number (high bit set). */
function numeric(h: Buffer, start: number, length: number, at: number, what: string): number {
  const first = h[start] as number;
  if (first & 0x80) {
    if (first === 0xff) throw invalid(at, `negative ${what}`);
    let value = first & 0x7f;
    for (let i = start + 1; i < start + length; i++) {
      value = value * 256 + (h[i] as number);
    }
    if (!Number.isSafeInteger(value)) throw invalid(at, `${what} out of range`);
    return value;
  }
  let i = start;
  const end = start + length;
  while (i < end && (h[i] === 0x20 || h[i] === 0)) i++;
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = h[i] as number;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) throw invalid(at, `invalid ${what} field`);
    value = value * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) {
    const c = h[i] as number;
    if (c !== 0x20 && c !== 0) throw invalid(at, `invalid ${what} field`);
  }
  return digits === 0 ? 0 : value;
}

function field(h: Buffer, start: number, length: number): Buffer {
  let end = start;
  const max = start + length;
  while (end < max && h[end] !== 0) end++;
  return h.subarray(start, end);
}

function cString(buf: Buffer, pending: Pending): string {
  const nul = buf.indexOf(0);
  const bytes = nul < 0 ? buf : buf.subarray(0, nul);
  if (!isUtf8(bytes)) pending.lossy = true;
  return utf8.decode(bytes);
}

/** PAX records: "<len> <key>=<value>\n", `len` counting the whole record. */
function parsePax(buf: Buffer, at: number): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let i = 0;
  while (i < buf.length) {
    const space = buf.indexOf(0x20, i);
    if (space < 0 || space - i > 20) throw invalid(at, 'malformed PAX record');
    const len = Number(buf.toString('latin1', i, space));
    if (!Number.isSafeInteger(len) || len <= space - i + 1 || i + len > buf.length) {
      throw invalid(at, 'malformed PAX record length');
    }
    const record = buf.subarray(space + 1, i + len);
    if (record[record.length - 1] !== 0x0a) throw invalid(at, 'malformed PAX record');
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw invalid(at, 'malformed PAX record');
    const key = record.toString('utf8', 0, eq);
    records.set(key, record.subarray(eq + 1, record.length - 1));
    i += len;
  }
  return records;
}

function paxString(pax: Map<string, Buffer> | undefined, key: string): string | undefined {
  const value = pax?.get(key);
  if (value === undefined || value.length === 0) return undefined;
  return value.toString('utf8');
}

function paxNumber(pax: Map<string, Buffer> | undefined, key: string, at: number) {
  const text = paxString(pax, key);
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,16}$/.test(text)) throw invalid(at, `invalid PAX ${key} ${JSON.stringify(text)}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw invalid(at, `PAX ${key} out of range`);
  return value;
}

function paxTime(pax: Map<string, Buffer> | undefined, key: string, at: number) {
  const text = paxString(pax, key);
  if (text === undefined) return undefined;
  if (!/^-?[0-9]{1,19}(\.[0-9]{0,19})?$/.test(text)) {
    throw invalid(at, `invalid PAX ${key} ${JSON.stringify(text)}`);
  }
  return Number(text);
}

const XATTR = 'SCHILY.xattr.';

function xattrsOf(pax: Map<string, Buffer>): Map<string, Buffer> | undefined {
  let out: Map<string, Buffer> | undefined;
  for (const [key, value] of pax) {
    if (!key.startsWith(XATTR) || key.length === XATTR.length) continue;
    out ??= new Map();
    out.set(key.slice(XATTR.length), value);
  }
  return out;
}

function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

function invalid(at: number, why: string) {
  return fail('InvalidArgument', `tar at offset ${at}: ${why}`);
}

import { isUtf8 } from 'node:buffer';
import { fail } from '../errors.js';

/**
 * Decoding of tar header blocks and extended headers (PAX records, GNU long names) into
 * entries, following Go's archive/tar. Used by tar-reader, which owns the stream.
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

export const BLOCK = 512;
const utf8 = new TextDecoder('utf-8');

/** Extended headers waiting for the entry they describe. */
export interface Pending {
  longName?: string;
  longLink?: string;
  pax?: Map<string, Buffer>;
  lossy?: boolean;
}

/** The entry a (non-extended) header block describes, with pending extended headers applied. */
export function toEntry(
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

export function isZero(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i += 8) {
    if (h.readBigUInt64LE(i) !== 0n) return false;
  }
  return true;
}

export function verifyChecksum(h: Buffer, at: number): void {
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
export function numeric(
  h: Buffer,
  start: number,
  length: number,
  at: number,
  what: string,
): number {
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

export function cString(buf: Buffer, pending: Pending): string {
  const nul = buf.indexOf(0);
  const bytes = nul < 0 ? buf : buf.subarray(0, nul);
  if (!isUtf8(bytes)) pending.lossy = true;
  return utf8.decode(bytes);
}

/** PAX records: "<len> <key>=<value>\n", `len` counting the whole record. */
export function parsePax(buf: Buffer, at: number): Map<string, Buffer> {
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

/** Zero bytes after `size` bytes of data, up to the next block. */
export function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

export function invalid(at: number, why: string) {
  return fail('InvalidArgument', `tar at offset ${at}: ${why}`);
}

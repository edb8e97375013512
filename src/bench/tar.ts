/**
 * The smallest tar writer the benchmarks need: ustar headers for files, directories,
 * symlinks and hardlinks with names under 100 bytes (the generators guarantee it), owned
 * by root, one fixed mtime, so that the same seed gives byte-identical layers.
 */

export type TarType = 'file' | 'link' | 'symlink' | 'dir';

const TYPEFLAG: Readonly<Record<TarType, string>> = {
  file: '0',
  link: '1',
  symlink: '2',
  dir: '5',
};

/** A fixed mtime (2023-11-14): generated layers do not depend on the clock. */
export const TAR_MTIME = 1_700_000_000;

export interface TarHeader {
  readonly name: string;
  readonly type: TarType;
  /** Data bytes that follow (files only). */
  readonly size?: number;
  readonly mode?: number;
  /** Link target (symlinks, hardlinks). */
  readonly link?: string;
}

/** One 512-byte ustar header. @throws Error for a name or link of 100 bytes or more. */
export function tarHeader(entry: TarHeader): Buffer {
  const { name, type, size = 0, link = '' } = entry;
  const mode = entry.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644);
  if (Buffer.byteLength(name) >= 100 || Buffer.byteLength(link) >= 100) {
    throw new Error(`bench: tar name too long for ustar: ${name}`);
  }
  const h = Buffer.alloc(512);
  const put = (text: string, at: number, len: number) => h.write(text, at, len, 'latin1');
  const octal = (n: number, at: number, len: number) =>
    put(`${n.toString(8).padStart(len - 1, '0')}\0`, at, len);
  put(name, 0, 100);
  octal(mode, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(TAR_MTIME, 136, 12);
  put('        ', 148, 8);
  put(TYPEFLAG[type], 156, 1);
  put(link, 157, 100);
  put('ustar\u000000', 257, 8);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

/** Zero bytes that pad `size` data bytes to a 512-byte block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

/** The two zero blocks that end an archive. */
export const TAR_END: Buffer = Buffer.alloc(1024);

/** Builds a whole archive in memory (small layers of the micro benchmarks). */
export class TarWriter {
  readonly parts: Buffer[] = [];
  entries = 0;
  files = 0;

  dir(name: string): void {
    this.parts.push(tarHeader({ name: `${name}/`, type: 'dir' }));
    this.entries++;
  }

  symlink(name: string, target: string): void {
    this.parts.push(tarHeader({ name, type: 'symlink', link: target }));
    this.entries++;
  }

  file(name: string, data: Buffer, mode = 0o644): void {
    this.parts.push(tarHeader({ name, type: 'file', size: data.length, mode }), data);
    const pad = tarPadding(data.length);
    if (pad.length) this.parts.push(pad);
    this.entries++;
    this.files++;
  }

  finish(): Buffer {
    this.parts.push(TAR_END);
    return Buffer.concat(this.parts);
  }
}

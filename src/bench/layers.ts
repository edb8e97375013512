import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { TarWriter } from './tar.js';

/**
 * Seeded, deterministic layers for the micro benchmarks. Two profiles bracket real images:
 * - `small-files`: a node_modules-like tree (lab/nodeapp's app layer: 27k entries, median
 *   file 0.9 KB, p90 10 KB, p99 150 KB), mostly source text, gzip ratio ~3.5;
 * - `large-files`: a handful of multi-MB binaries (shared libraries, toolchains), gzip
 *   ratio ~2.3.
 * Content comes from two pools built once per seed: text (pseudo-source: Zipf-distributed
 * identifiers, punctuation, indentation) and binary (object-code-like pages: random bytes,
 * runs of instruction-like byte strings, near-repeats, text and zeros). Files take slices
 * at random offsets; pools are far larger than gzip's 32 KiB window, so compressibility is
 * the content's own.
 * The same seed, profile and scale give byte-identical tar and gzip blobs.
 */

export type ProfileName = 'small-files' | 'large-files';

export interface GeneratedLayer {
  readonly profile: string;
  readonly seed: number;
  /** The uncompressed tar. */
  readonly tar: Buffer;
  /** The tar, gzip level 6 (node:zlib). */
  readonly gz: Buffer;
  readonly entries: number;
  readonly files: number;
}

export interface LayerSize {
  /** small-files: files to generate. */
  readonly files: number;
  /** large-files: number of files and bytes per file. */
  readonly largeFiles: number;
  readonly largeFileBytes: number;
}

export const FULL_SIZE: LayerSize = { files: 20_000, largeFiles: 6, largeFileBytes: 16 << 20 };
export const QUICK_SIZE: LayerSize = { files: 300, largeFiles: 2, largeFileBytes: 1 << 20 };

/** sfc32: a small, fast PRNG with a 128-bit state; `next()` is uniform in [0, 1). */
export function prng(seed: number): { next(): number; int(n: number): number } {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const raw = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 16; i++) raw();
  const next = () => raw() / 4294967296;
  return { next, int: (n) => Math.floor(next() * n) };
}

export type Rng = ReturnType<typeof prng>;

const POOL_BYTES = 8 << 20;

/** Pseudo-source text: identifiers from a Zipf-like vocabulary, code punctuation, lines. */
export function textPool(rng: Rng, bytes: number): Buffer {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const vocab: string[] = [];
  for (let i = 0; i < 4000; i++) {
    let w = '';
    const len = 2 + rng.int(9);
    for (let j = 0; j < len; j++) w += letters[rng.int(26)];
    if (rng.next() < 0.3) w += w[0]!.toUpperCase() + letters.slice(rng.int(20), rng.int(6) + 20);
    vocab.push(w);
  }
  const punct = [' = ', '(', ')', ', ', '.', ';', ' { ', ' }', ' => ', ': ', "'", ' + ', '[', ']'];
  const parts: string[] = [];
  let size = 0;
  let indent = 0;
  while (size < bytes) {
    let line = '  '.repeat(indent);
    const words = 2 + rng.int(10);
    for (let i = 0; i < words; i++) {
      line += vocab[Math.floor(vocab.length * rng.next() ** 4)];
      if (rng.next() < 0.6) line += punct[rng.int(punct.length)];
      else line += ' ';
      if (rng.next() < 0.05) line += String(rng.int(100000));
    }
    indent = Math.max(0, Math.min(6, indent + rng.int(3) - 1));
    parts.push(line, '\n');
    size += line.length + 1;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

/**
 * Object-code-like bytes, in 512-byte pages: random (compressed data, hashes), runs of
 * short byte strings drawn from a skewed "instruction set", near-repeats of a recent page
 * (tables, stubs), text (string tables) and zeros (padding).
 */
export function binaryPool(rng: Rng, bytes: number, text: Buffer): Buffer {
  const out = Buffer.alloc(bytes);
  // "instructions": short byte strings, some far more common than others
  const isa = Array.from({ length: 1024 }, () =>
    Array.from({ length: 2 + rng.int(6) }, () => rng.int(256)),
  );
  for (let at = 0; at < bytes; at += 512) {
    const end = Math.min(bytes, at + 512);
    const kind = rng.next();
    if (kind < 0.1) {
      for (let i = at; i < end; i++) out[i] = rng.int(256);
    } else if (kind < 0.55) {
      for (let i = at; i < end; ) {
        for (const byte of isa[Math.floor(isa.length * rng.next() ** 3)]!) {
          if (i < end) out[i++] = byte;
        }
      }
    } else if (kind < 0.65 && at >= 16384) {
      const from = at - 512 * (1 + rng.int(30));
      for (let i = at; i < end; i++) {
        out[i] = rng.next() < 0.02 ? rng.int(256) : out[from + i - at]!;
      }
    } else if (kind < 0.85) {
      const from = rng.int(text.length - 512);
      text.copy(out, at, from, from + (end - at));
    } // else: zeros
  }
  return out;
}

export function slice(rng: Rng, pool: Buffer, size: number): Buffer {
  if (size <= pool.length) {
    const from = rng.int(pool.length - size + 1);
    return pool.subarray(from, from + size);
  }
  const parts: Buffer[] = [];
  for (let left = size; left > 0; left -= Math.min(left, 1 << 20)) {
    parts.push(slice(rng, pool, Math.min(left, 1 << 20)));
  }
  return Buffer.concat(parts);
}

/** Lognormal file sizes: median 900 B, p90 ~10 KB, capped at 1 MiB. */
export function smallFileSize(rng: Rng): number {
  const u = Math.max(1e-12, rng.next());
  const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  return Math.min(1 << 20, Math.max(0, Math.round(900 * Math.exp(1.85 * normal))));
}

function smallFilesTar(rng: Rng, size: LayerSize, text: Buffer, binary: Buffer): TarWriter {
  const tar = new TarWriter();
  const word = () => {
    const at = rng.int(text.length - 64);
    const w = text.toString('latin1', at, at + 64).match(/[a-z]{3,12}/)?.[0];
    return w ?? `w${rng.int(1000)}`;
  };
  const ext = ['.js', '.js', '.js', '.ts', '.json', '.md', '.map', '.d.ts', '.cjs', '.node'];
  tar.dir('app');
  tar.dir('app/node_modules');
  let written = 0;
  while (written < size.files) {
    const pkg = `app/node_modules/${word()}-${tar.entries}`;
    tar.dir(pkg);
    const dirs = [pkg];
    const perPackage = 5 + rng.int(40);
    for (let i = 0; i < perPackage && written < size.files; i++) {
      if (rng.next() < 0.15 && dirs.length < 8) {
        const parent = dirs[rng.int(dirs.length)]!;
        const d = `${parent}/${word()}`.slice(0, 75); // names stay < 100 bytes
        if (!dirs.includes(d)) {
          tar.dir(d);
          dirs.push(d);
        }
      }
      const e = ext[rng.int(ext.length)]!;
      const name = `${dirs[rng.int(dirs.length)]}/${word()}${i}${e}`;
      if (rng.next() < 0.01) {
        tar.symlink(name, `../${word()}.js`);
        continue;
      }
      const bytes = smallFileSize(rng);
      tar.file(name, slice(rng, e === '.node' ? binary : text, bytes), 0o644);
      written++;
    }
  }
  return tar;
}

function largeFilesTar(rng: Rng, size: LayerSize, binary: Buffer): TarWriter {
  const tar = new TarWriter();
  tar.dir('opt');
  tar.dir('opt/toolchain');
  tar.dir('opt/toolchain/lib');
  for (let i = 0; i < size.largeFiles; i++) {
    const name = `opt/toolchain/lib/libbench${i}.so.${1 + rng.int(9)}`;
    tar.file(name, slice(rng, binary, size.largeFileBytes), 0o755);
  }
  return tar;
}

/** Builds a profile's layer: deterministic for a given seed and size. */
export async function generateLayer(
  profile: ProfileName,
  options: { seed?: number; size?: LayerSize } = {},
): Promise<GeneratedLayer> {
  const seed = options.seed ?? 1;
  const size = options.size ?? FULL_SIZE;
  const rng = prng(seed);
  const poolBytes = Math.min(POOL_BYTES, Math.max(1 << 20, size.largeFileBytes));
  const text = textPool(rng, poolBytes);
  const binary = binaryPool(rng, poolBytes, text);
  const writer =
    profile === 'small-files'
      ? smallFilesTar(rng, size, text, binary)
      : largeFilesTar(rng, size, binary);
  const tar = writer.finish();
  const gz = await promisify(gzip)(tar, { level: 6 });
  return { profile, seed, tar, gz, entries: writer.entries, files: writer.files };
}

import { createCipheriv, createHash } from 'node:crypto';
import { fail } from '../errors.js';
import { prng, slice, smallFileSize, textPool } from './layers.js';
import { TAR_END, type TarHeader, tarHeader, tarPadding } from './tar.js';

/**
 * The synthetic workloads of `strata bench snapshotters`: images described layer by layer,
 * every byte derived from the seed (the same seed gives the same blobs and digests).
 *
 * - `benchsuite`: containerd's snapshotter benchsuite shape (snapshots/benchsuite): 16
 *   layers over ten 1 MiB files a..j of random bytes; layer i creates, updates (a layer
 *   carries the whole file, 4 bytes changed in the middle) or removes (whiteouts) them in
 *   the suite's pattern (i%3==0, i%2==0, else all created).
 * - `tiny-files`: 20,000 files of 0-2 KiB of source-like text in 200 directories; a second
 *   layer rewrites 2,000, adds 2,000, whites out 1,000 and makes one directory opaque; a
 *   third adds 100.
 * - `huge-files`: three 64 MiB files of random bytes, then a layer rewriting one and adding
 *   a fourth.
 * - `deep`: 128 layers, each adding a directory of 8 small files and rewriting one shared
 *   file; every 8th whites out an earlier layer's directory, every 16th makes one opaque.
 * - `tiny`: 3 small layers with every entry kind (tests and smoke runs; not in `all`).
 */

/** A tar entry whose data is produced when the layer is written. */
export interface Entry {
  readonly header: TarHeader;
  readonly data?: () => Iterable<Buffer>;
}

export interface Profile {
  readonly name: string;
  readonly description: string;
  /** The layers' entries, data unproduced. */
  layers(seed: number): Entry[][];
}

/** The tar stream of one layer: headers, data, padding, end blocks. */
export function* tarBytes(entries: Iterable<Entry>): Generator<Buffer> {
  for (const e of entries) {
    yield tarHeader(e.header);
    if (!e.data) continue;
    let n = 0;
    for (const chunk of e.data()) {
      n += chunk.length;
      yield chunk;
    }
    if (n !== (e.header.size ?? 0)) throw fail('Internal', `bench: ${e.header.name}: wrote ${n}`);
    const pad = tarPadding(n);
    if (pad.length) yield pad;
  }
  yield TAR_END;
}

const MiB = 1 << 20;

/** Deterministic pseudo-random bytes: the AES-256-CTR keystream under sha256(label). */
export function* noise(label: string, size: number, patch?: Buffer): Generator<Buffer> {
  const key = createHash('sha256').update(label).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(size, MiB));
  const mid = size >> 1;
  for (let at = 0; at < size; at += zeros.length) {
    const chunk = cipher.update(zeros.subarray(0, Math.min(zeros.length, size - at)));
    if (patch && mid >= at && mid < at + chunk.length) patch.copy(chunk, mid - at);
    yield chunk;
  }
}

const file = (name: string, size: number, data: () => Iterable<Buffer>, mode = 0o644): Entry => ({
  header: { name, type: 'file', size, mode },
  data,
});
const dir = (name: string): Entry => ({ header: { name: `${name}/`, type: 'dir' } });
const whiteout = (parent: string, name: string): Entry => ({
  header: { name: `${parent ? `${parent}/` : ''}.wh.${name}`, type: 'file', size: 0, mode: 0 },
});
const opaque = (parent: string): Entry => whiteout(parent, '.wh..opq');

/** Text files cut from one seeded pool of source-like text. */
function textFiles(seed: number) {
  const rng = prng(seed);
  const pool = textPool(rng, MiB);
  return {
    rng,
    file(name: string, size: number): Entry {
      const bytes = slice(rng, pool, Math.min(size, pool.length));
      return file(name, bytes.length, () => [bytes]);
    },
  };
}

const benchsuite: Profile = {
  name: 'benchsuite',
  description:
    "containerd's snapshotter benchsuite shape: 16 layers of ten 1 MiB random files, created, updated and removed",
  layers(seed) {
    const names = 'abcdefghij'.split('');
    const live = new Map<string, string>(); // name -> label of its content
    const out: Entry[][] = [];
    for (let i = 1; i <= 16; i++) {
      const ops: [string, 'create' | 'update' | 'remove'][] =
        i % 3 === 0
          ? [
              ['a', 'update'],
              ['b', 'update'],
              ['c', 'create'],
              ['d', 'update'],
              ['f', 'create'],
              ['e', 'update'],
              ['g', 'remove'],
              ['h', 'create'],
              ['i', 'update'],
              ['j', 'create'],
            ]
          : i % 2 === 0
            ? [
                ['a', 'update'],
                ['b', 'create'],
                ['c', 'remove'],
                ['d', 'create'],
                ['e', 'update'],
                ['f', 'remove'],
                ['g', 'create'],
                ['h', 'update'],
                ['i', 'create'],
                ['j', 'update'],
              ]
            : names.map((n) => [n, 'create']);
      const layer: Entry[] = [];
      for (const [name, op] of ops) {
        const label = `${seed}/benchsuite/${i}/${name}`;
        const before = live.get(name);
        if (op === 'remove') {
          if (before !== undefined) layer.push(whiteout('', name));
          live.delete(name);
        } else if (op === 'update' && before !== undefined) {
          const patch = Buffer.from(label).subarray(-4);
          layer.push(file(name, MiB, () => noise(before, MiB, patch), 0o777));
          live.set(name, before);
        } else {
          layer.push(file(name, MiB, () => noise(label, MiB), 0o777));
          live.set(name, label);
        }
      }
      out.push(layer);
    }
    return out;
  },
};

/** `count` files of 0-2 KiB (lognormal, median ~300 B) spread over `dirs` directories. */
function tinyTree(t: ReturnType<typeof textFiles>, prefix: string, dirs: number, count: number) {
  const entries: Entry[] = [dir(prefix)];
  for (let d = 0; d < dirs; d++) entries.push(dir(`${prefix}/d${d}`));
  for (let f = 0; f < count; f++) {
    const size = Math.min(2048, Math.round(smallFileSize(t.rng) / 3));
    entries.push(t.file(`${prefix}/d${f % dirs}/f${f}.js`, size));
  }
  return entries;
}

const tinyFiles: Profile = {
  name: 'tiny-files',
  description:
    'many tiny files: 20,000 files of 0-2 KiB in 200 dirs; then 2,000 rewritten, 2,000 added, 1,000 whited out, one opaque dir',
  layers(seed) {
    const t = textFiles(seed);
    const base = tinyTree(t, 'app', 200, 20_000);
    const second: Entry[] = [];
    for (let f = 0; f < 20_000; f += 10) second.push(t.file(`app/d${f % 200}/f${f}.js`, 800));
    second.push(...tinyTree(t, 'app2', 50, 2_000));
    for (let f = 5; f < 20_000; f += 20) second.push(whiteout(`app/d${f % 200}`, `f${f}.js`));
    second.push(opaque('app/d7'), t.file('app/d7/replaced.js', 500));
    const third = tinyTree(t, 'extra', 4, 100);
    return [base, second, third];
  },
};

const hugeFiles: Profile = {
  name: 'huge-files',
  description: 'few huge files: three 64 MiB random files, then one rewritten and a fourth added',
  layers(seed) {
    const big = (name: string, label: string, patch?: Buffer) =>
      file(`data/${name}`, 64 * MiB, () => noise(`${seed}/huge/${label}`, 64 * MiB, patch));
    return [
      [dir('data'), big('blob0.bin', '0'), big('blob1.bin', '1'), big('blob2.bin', '2')],
      [big('blob1.bin', '1', Buffer.from('edit')), big('blob3.bin', '3')],
    ];
  },
};

const deep: Profile = {
  name: 'deep',
  description:
    'a deep image: 128 layers, each a directory of 8 small files and a rewritten shared file; whiteouts every 8th, opaque dirs every 16th',
  layers(seed) {
    const t = textFiles(seed);
    const out: Entry[][] = [];
    for (let i = 0; i < 128; i++) {
      const d = `layers/l${String(i).padStart(3, '0')}`;
      const layer: Entry[] =
        i === 0 ? [dir('etc'), dir('layers'), dir('var'), dir('var/cache')] : [];
      layer.push(dir(d));
      for (let f = 0; f < 8; f++) layer.push(t.file(`${d}/f${f}.txt`, 1024 + t.rng.int(7 * 1024)));
      layer.push(t.file('etc/state', 4096));
      if (i % 8 === 7) layer.push(whiteout('layers', `l${String(i - 4).padStart(3, '0')}`));
      if (i % 16 === 15) {
        layer.push(opaque('var/cache'));
        for (let f = 0; f < 4; f++) layer.push(t.file(`var/cache/c${i}-${f}`, 2048));
      }
      out.push(layer);
    }
    return out;
  },
};

const tiny: Profile = {
  name: 'tiny',
  description: 'a tiny image for tests: 3 layers, a few files, every entry kind, whiteouts',
  layers(seed) {
    const t = textFiles(seed);
    const first: Entry[] = [dir('etc'), dir('usr'), dir('usr/lib'), dir('var')];
    for (let f = 0; f < 20; f++) first.push(t.file(`usr/lib/lib${f}.so`, 4096 + f * 512));
    first.push(
      t.file('etc/config', 300),
      { header: { name: 'etc/link', type: 'symlink', link: '../usr/lib/lib1.so' } },
      { header: { name: 'usr/lib/hard0', type: 'link', link: 'usr/lib/lib0.so' } },
    );
    const second: Entry[] = [
      t.file('usr/lib/lib2.so', 9000),
      t.file('etc/config', 350),
      whiteout('usr/lib', 'lib3.so'),
      whiteout('usr/lib', 'lib4.so'),
      opaque('var'),
      t.file('var/new', 100),
    ];
    const third: Entry[] = [dir('opt')];
    for (let f = 0; f < 5; f++) third.push(t.file(`opt/f${f}`, 1000));
    return [first, second, third];
  },
};

export const PROFILES: readonly Profile[] = [benchsuite, tinyFiles, hugeFiles, deep, tiny];

/** What `--profile all` runs. */
export const ALL_PROFILES: readonly string[] = ['benchsuite', 'tiny-files', 'huge-files', 'deep'];

/** @throws InvalidArgument for an unknown name. */
export function findProfile(name: string): Profile {
  const p = PROFILES.find((x) => x.name === name);
  if (!p) {
    const known = PROFILES.map((x) => x.name).join(', ');
    throw fail('InvalidArgument', `profile ${JSON.stringify(name)}: unknown (${known}, all)`);
  }
  return p;
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gunzipSync } from 'node:zlib';
import { Gunzip as FflateGunzip } from 'fflate';
import { applyLayer, decompress } from '../../src/apply/index.js';
import {
  check,
  FULL_SIZE,
  generateLayer,
  mbps,
  megabytes,
  type ProfileName,
  QUICK_SIZE,
  removeTree,
  type Summary,
  scratch,
  summarize,
  syncAll,
  time,
  timed,
  which,
} from '../../src/bench/index.js';
import { digester } from '../../src/oci/index.js';
import { type FsKind, fsBase } from '../env.js';
import { labLayout } from '../images.js';
import type { BenchOptions } from '../options.js';
import { chunks, count, parseWithStrata, parseWithTarStream, same } from './parsers.js';

/**
 * Part 1: the pipeline's stages on seeded layers (and lab/debian's real layer when the lab
 * layout exists), each next to the machine's limit measured in the same run:
 *
 *   stage      strata                           limit                       alternatives
 *   sha256     digester (oci/)                  node:crypto alone           -
 *   gunzip     unpack.decompress()              node:zlib createGunzip      fflate Gunzip, pigz -dc,
 *                                                    (1 MiB chunks)              zlib's default chunks
 *   tar parse  createTarReader (apply/)         -                           tar-stream extract
 *   apply      applyLayer(tar) into a dir       tar -x (GNU) into a dir     -
 *   pipeline   applyLayer(tar+gzip) into a dir  pigz -dc | tar -x           -
 *
 * MB/s are always of uncompressed (tar) bytes, so stages compare directly. sha256, gunzip
 * and parsing run in memory; apply and pipeline read the blob from a tmpfs file and write
 * to the filesystem under test. Runs interleave the implementations; each is timed alone.
 */

export type Stage = 'sha256' | 'gunzip' | 'tar parse' | 'apply' | 'pipeline';
export type Role = 'strata' | 'limit' | 'alternative';

export interface MicroRow {
  readonly stage: Stage;
  readonly profile: string;
  /** The filesystem written to (apply, pipeline), else undefined. */
  readonly fs?: FsKind;
  readonly impl: string;
  readonly role: Role;
  /** Uncompressed bytes per run. */
  readonly bytes: number;
  readonly seconds: readonly number[];
  readonly mbps: Summary;
}

export interface MicroProfile {
  readonly name: string;
  readonly source: string;
  readonly entries: number;
  readonly tarBytes: number;
  readonly gzBytes: number;
}

export interface MicroResult {
  readonly profiles: readonly MicroProfile[];
  readonly rows: readonly MicroRow[];
}

export interface MicroOptions
  extends Pick<BenchOptions, 'quick' | 'runs' | 'fs' | 'profiles' | 'seed' | 'labDir'> {
  readonly log: (line: string) => void;
}

/** Bytes per chunk fed to in-memory stages: the network's (64 KiB) and gunzip's (1 MiB). */
const NET_CHUNK = 64 * 1024;
const TAR_CHUNK = 1024 * 1024;

interface Layer {
  readonly name: string;
  readonly source: string;
  readonly tar: Buffer;
  readonly gz: Buffer;
  readonly entries: number;
  /** Bytes of entry data (what a parser hands out). */
  readonly dataBytes: number;
}

interface Measure {
  readonly stage: Stage;
  readonly impl: string;
  readonly role: Role;
  readonly fs?: FsKind;
  /** Runs once, returns seconds. */
  run(): Promise<number>;
}

export async function runMicro(options: MicroOptions): Promise<MicroResult> {
  const work = await scratch(fsBase('tmpfs'), 'micro');
  const rows: MicroRow[] = [];
  const profiles: MicroProfile[] = [];
  try {
    for (const name of options.profiles) {
      const layer = await loadLayer(name, options);
      if (!layer) {
        options.log(`micro: ${name}: skipped (no lab layout at ${options.labDir})`);
        continue;
      }
      profiles.push({
        name: layer.name,
        source: layer.source,
        entries: layer.entries,
        tarBytes: layer.tar.length,
        gzBytes: layer.gz.length,
      });
      options.log(
        `micro: ${name}: ${layer.entries} entries, ${megabytes(layer.tar.length)} MB tar, ${megabytes(layer.gz.length)} MB gz`,
      );
      rows.push(...(await measureLayer(layer, work, options)));
    }
  } finally {
    await removeTree(work);
  }
  return { profiles, rows };
}

async function loadLayer(name: string, options: MicroOptions): Promise<Layer | undefined> {
  if (name === 'small-files' || name === 'large-files') {
    const size = options.quick ? QUICK_SIZE : FULL_SIZE;
    const l = await generateLayer(name as ProfileName, { seed: options.seed, size });
    return {
      name,
      source: `generated, seed ${options.seed}`,
      tar: l.tar,
      gz: l.gz,
      ...count(l.tar, TAR_CHUNK),
    };
  }
  if (name === 'debian' || name === 'nodeapp') {
    // a real layer: the lab image's largest (nodeapp's is the 499 MB node_modules tree)
    const layout = await labLayout(options.labDir, name);
    const desc = layout?.manifest.layers.reduce((a, b) => (b.size > a.size ? b : a));
    if (!layout || !desc) return undefined;
    const gz = await readFile(layout.blobPath(desc.digest));
    const tar = gunzipSync(gz, { maxOutputLength: 2 ** 31 });
    return {
      name,
      source: `lab/${name} layer ${desc.digest.slice(7, 19)}`,
      tar,
      gz,
      ...count(tar, TAR_CHUNK),
    };
  }
  throw new Error(
    `bench: unknown micro profile ${name} (small-files, large-files, debian, nodeapp)`,
  );
}

async function measureLayer(layer: Layer, work: string, options: MicroOptions) {
  const tarFile = join(work, `${layer.name}.tar`);
  const gzFile = join(work, `${layer.name}.tar.gz`);
  await writeFile(tarFile, layer.tar);
  await writeFile(gzFile, layer.gz);
  const measures = [
    ...inMemory(layer, gzFile),
    ...options.fs.flatMap((fs) => onDisk(fs, tarFile, gzFile)),
  ];
  const seconds = new Map<Measure, number[]>(measures.map((m) => [m, []]));
  for (let run = 0; run < options.runs; run++) {
    for (const m of measures) {
      const s = m.fs ? await m.run() : await repeated(m.run);
      seconds.get(m)!.push(s);
      const where = m.fs ? ` (${m.fs})` : '';
      options.log(
        `micro: ${layer.name} run ${run + 1}: ${m.stage}${where} ${m.impl}: ${mbps(layer.tar.length, s).toFixed(0)} MB/s`,
      );
    }
  }
  return measures.map(
    (m): MicroRow => ({
      stage: m.stage,
      profile: layer.name,
      ...(m.fs ? { fs: m.fs } : {}),
      impl: m.impl,
      role: m.role,
      bytes: layer.tar.length,
      seconds: seconds.get(m)!,
      mbps: summarize(seconds.get(m)!.map((s) => mbps(layer.tar.length, s))),
    }),
  );
}

/**
 * In-memory stages of small layers finish in microseconds: repeat them until 0.2 s have
 * passed and return the mean time of one pass, so the timer's resolution does not matter.
 */
async function repeated(run: () => Promise<number>): Promise<number> {
  let total = 0;
  let passes = 0;
  do {
    total += await run();
    passes++;
  } while (total < 0.2);
  return total / passes;
}

/** Consumes a stream, checking that it produced `want` bytes. */
function counter(want: number, what: string) {
  let got = 0;
  return {
    sink: new Writable({
      write(chunk: Buffer, _enc, cb) {
        got += chunk.length;
        cb();
      },
    }),
    add: (n: number) => {
      got += n;
    },
    check: () => {
      if (got !== want) throw new Error(`bench: ${what}: ${got} bytes, want ${want}`);
    },
  };
}

function inMemory(layer: Layer, gzFile: string): Measure[] {
  const tarChunks = chunks(layer.tar, TAR_CHUNK);
  const gzChunks = chunks(layer.gz, NET_CHUNK);
  const size = layer.tar.length;
  const measures: Measure[] = [
    {
      stage: 'sha256',
      impl: 'strata digester',
      role: 'strata',
      run: () =>
        time(() => {
          const d = digester('sha256');
          for (const c of tarChunks) d.update(c);
          d.digest();
        }),
    },
    {
      stage: 'sha256',
      impl: 'node:crypto alone',
      role: 'limit',
      run: () =>
        time(() => {
          const h = createHash('sha256');
          for (const c of tarChunks) h.update(c);
          h.digest('hex');
        }),
    },
    {
      stage: 'gunzip',
      impl: 'strata decompress()',
      role: 'strata',
      run: () =>
        time(async () => {
          const c = counter(size, 'decompress');
          await pipeline(decompress(Readable.from(gzChunks)), c.sink);
          c.check();
        }),
    },
    {
      stage: 'gunzip',
      impl: 'node:zlib gunzip alone',
      role: 'limit',
      run: () =>
        time(async () => {
          const c = counter(size, 'zlib gunzip');
          await pipeline(Readable.from(gzChunks), createGunzip({ chunkSize: TAR_CHUNK }), c.sink);
          c.check();
        }),
    },
    {
      stage: 'gunzip',
      impl: 'node:zlib gunzip, default 16 KiB chunks',
      role: 'alternative',
      run: () =>
        time(async () => {
          const c = counter(size, 'zlib gunzip');
          await pipeline(Readable.from(gzChunks), createGunzip(), c.sink);
          c.check();
        }),
    },
    {
      stage: 'gunzip',
      impl: 'fflate Gunzip (stream)',
      role: 'alternative',
      run: () =>
        time(() => {
          const c = counter(size, 'fflate');
          const g = new FflateGunzip({}, (data) => c.add(data.length));
          gzChunks.forEach((chunk, i) => {
            g.push(chunk, i === gzChunks.length - 1);
          });
          c.check();
        }),
    },
    {
      stage: 'tar parse',
      impl: 'strata tar-reader',
      role: 'strata',
      run: () => time(() => same('tar-reader', parseWithStrata(tarChunks), layer)),
    },
    {
      stage: 'tar parse',
      impl: 'tar-stream extract (callbacks)',
      role: 'alternative',
      run: () => time(async () => same('tar-stream', await parseWithTarStream(tarChunks), layer)),
    },
  ];
  if (which('pigz')) {
    measures.push({
      stage: 'gunzip',
      impl: 'pigz -dc > /dev/null',
      role: 'alternative',
      run: async () =>
        check('pigz', await timed('sh', ['-c', `pigz -dc '${gzFile}' >/dev/null`])).seconds,
    });
  }
  return measures;
}

function onDisk(fs: FsKind, tarFile: string, gzFile: string): Measure[] {
  const intoFreshDir = async (fn: (dir: string) => Promise<unknown>): Promise<number> => {
    const dir = await scratch(fsBase(fs), 'apply');
    await mkdir(dir, { recursive: true });
    syncAll();
    try {
      return await time(() => fn(dir));
    } finally {
      await removeTree(dir);
    }
  };
  const measures: Measure[] = [
    {
      stage: 'apply',
      impl: 'strata applyLayer(tar)',
      role: 'strata',
      fs,
      run: () =>
        intoFreshDir((dir) =>
          applyLayer(createReadStream(tarFile, { highWaterMark: TAR_CHUNK }), dir, {
            whiteouts: 'overlay',
          }),
        ),
    },
    {
      stage: 'pipeline',
      impl: 'strata applyLayer(tar+gzip)',
      role: 'strata',
      fs,
      run: () =>
        intoFreshDir((dir) =>
          applyLayer(createReadStream(gzFile, { highWaterMark: NET_CHUNK }), dir, {
            whiteouts: 'overlay',
          }),
        ),
    },
  ];
  if (which('tar')) {
    measures.splice(1, 0, {
      stage: 'apply',
      impl: 'tar -x (GNU tar)',
      role: 'limit',
      fs,
      run: () =>
        intoFreshDir(async (dir) =>
          check('tar -x', await timed('tar', ['-xf', tarFile, '-C', dir])),
        ),
    });
  }
  if (which('tar') && which('pigz')) {
    measures.push({
      stage: 'pipeline',
      impl: 'pigz -dc | tar -x',
      role: 'limit',
      fs,
      run: () =>
        intoFreshDir(async (dir) =>
          check(
            'pigz | tar',
            await timed('sh', ['-c', `pigz -dc '${gzFile}' | tar -x -C '${dir}'`]),
          ),
        ),
    });
  }
  return measures;
}

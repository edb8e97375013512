import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyLayer, createApplyPool } from '../../src/apply/index.js';
import { isCode } from '../../src/errors.js';
import { digestOf } from '../../src/oci/digest.js';
import { tempDir } from '../fixtures/env.js';
import { buildTar, gzip, type TarEntrySpec } from '../fixtures/tar-builder.js';
import { chunked } from './helpers.js';
import { diffTrees, snapshotTree } from './tree.js';

const base = await tempDir('strata-pool-');
let n = 0;
const fresh = () => {
  const dir = join(base, `t${n++}`);
  mkdirSync(dir);
  return dir;
};

const entries: TarEntrySpec[] = [
  { name: 'etc/', mode: 0o755 },
  { name: 'etc/hosts', content: '127.0.0.1 localhost\n' },
  { name: 'bin/', mode: 0o755 },
  { name: 'bin/big', content: randomBytes(3_000_000), mode: 0o755 },
  { name: 'bin/small', content: 'small', mode: 0o4755, uid: 1, gid: 2 },
  { name: 'bin/link', type: 'symlink', linkname: 'small' },
  ...Array.from({ length: 300 }, (_, i) => ({
    name: `data/f${i}`,
    content: `file ${i}\n`.repeat(i),
  })),
];
const tar = buildTar(entries);
const layer = gzip(tar);
const pool = createApplyPool({ size: 2 });
afterAll(() => pool.close());

describe('apply pool (worker threads)', () => {
  it('runs in worker threads once strata is built', () => {
    // `npm test` builds first; the pool falls back to the calling thread only without dist/.
    expect(pool.threads).toBe(true);
  });

  it('applies a layer exactly as applyLayer does', async () => {
    const [inThread, inWorker] = [fresh(), fresh()];
    const want = await applyLayer(chunked(layer, 65_536), inThread, { whiteouts: 'delete' });
    const progress: number[] = [];
    const got = await pool.apply(chunked(layer, 65_536), inWorker, {
      whiteouts: 'delete',
      expectedDiffId: digestOf(tar),
      onProgress: (p) => progress.push(p.bytes),
    });
    expect(got).toEqual(want);
    expect(got.diffId).toBe(digestOf(tar));
    expect(progress.at(-1)).toBe(tar.length);
    expect(diffTrees(snapshotTree(inThread), snapshotTree(inWorker))).toEqual([]);
  });

  it('runs several layers at once and queues the rest', async () => {
    const results = await Promise.all(
      [0, 1, 2, 3].map(() =>
        pool.apply(chunked(layer, 100_000), fresh(), { whiteouts: 'overlay', parents: 'later' }),
      ),
    );
    for (const r of results) expect(r.diffId).toBe(digestOf(tar));
    expect(results[0]?.deferred).toBeDefined();
  });

  it('reports the applier errors by code', async () => {
    const mismatch = await pool
      .apply(chunked(layer), fresh(), { whiteouts: 'delete', expectedDiffId: digestOf('other') })
      .catch((e: unknown) => e);
    expect(isCode(mismatch, 'FailedPrecondition')).toBe(true);
    expect((mismatch as Error).message).toContain('diffID mismatch');
    const garbage = await pool
      .apply(chunked(gzip(randomBytes(5000))), fresh(), { whiteouts: 'delete' })
      .catch((e: unknown) => e);
    expect(isCode(garbage, 'InvalidArgument')).toBe(true);
  });

  it('fails with the source error when the source fails midway, and stays usable', async () => {
    async function* cut() {
      yield layer.subarray(0, 100_000);
      throw new Error('connection reset by peer');
    }
    const err = await pool.apply(cut(), fresh(), { whiteouts: 'delete' }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('connection reset by peer');
    const ok = await pool.apply(chunked(layer), fresh(), { whiteouts: 'delete' });
    expect(ok.diffId).toBe(digestOf(tar));
  });

  it('stops on abort with Aborted', async () => {
    const controller = new AbortController();
    async function* slow() {
      yield layer.subarray(0, 50_000);
      controller.abort();
      await new Promise((r) => setTimeout(r, 50));
      yield layer.subarray(50_000);
    }
    const err = await pool
      .apply(slow(), fresh(), { whiteouts: 'delete', signal: controller.signal })
      .catch((e: unknown) => e);
    expect(isCode(err, 'Aborted')).toBe(true);
  });
});

import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeBlob } from '../../src/content/index.js';
import { isCode } from '../../src/errors.js';
import { digestOf } from '../../src/oci/digest.js';
import { openStrata } from '../../src/strata/index.js';
import { tempDir } from '../fixtures/env.js';

describe('content store after a crash', () => {
  it('sweeps the ingest left by a writer killed between its commit rename and its cleanup', async () => {
    const root = join(await tempDir(), 'root');
    const s = await openStrata({ root, namespace: 'test' });
    const data = Buffer.from('config bytes');
    const digest = digestOf(data);
    await writeBlob(s.content, data, { expected: digest });
    // What the killed writer left: its ingest dir without `data` (already renamed into
    // blobs/) and its ingests row.
    const w = await s.content.writer({ ref: 'killed', total: data.length });
    await w.close();
    const ingestDirs = await readdir(join(root, 'content', 'ingest'));
    expect(ingestDirs.length).toBe(1);
    await writeFile(join(root, 'content', 'ingest', ingestDirs[0]!, 'expected'), digest);
    expect((await s.content.listStatuses()).map((st) => st.ref)).toEqual(['killed']);
    // The next run's writer for that digest finds the blob and cleans up.
    const err = await s.content
      .writer({ ref: 'killed', expected: digest })
      .catch((e: unknown) => e);
    expect(isCode(err, 'AlreadyExists')).toBe(true);
    expect(await s.content.listStatuses()).toEqual([]);
    expect(await readdir(join(root, 'content', 'ingest'))).toEqual([]);
    expect(s.db.prepare('SELECT count(*) FROM ingests').pluck().get()).toBe(0);
    s.close();
  });

  it('leaves an ingest held by a live writer alone', async () => {
    const root = join(await tempDir(), 'root');
    const s = await openStrata({ root, namespace: 'test' });
    const data = Buffer.from('x');
    await writeBlob(s.content, data, { expected: digestOf(data) });
    const held = await s.content.writer({ ref: 'held' });
    await s.blobs.sweep('held', 'test');
    expect((await s.content.listStatuses()).map((st) => st.ref)).toEqual(['held']);
    await held.close();
    await mkdir(join(root, 'tmp'), { recursive: true });
    s.close();
  });
});

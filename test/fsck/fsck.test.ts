/**
 * fsck through the library, on roots damaged by hand (no registry): the exact findings and
 * report shape of the checks the CLI tests do not reach, and the repair of an ingest record
 * whose data is gone (deleted in a write transaction, not by gc).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeBlob } from '../../src/content/index.js';
import { fsck } from '../../src/fsck/index.js';
import { GC_REF_CONTENT } from '../../src/labels.js';
import { readInventory } from '../../src/metadata/index.js';
import { digestOf } from '../../src/oci/digest.js';
import { openStrata, type Strata } from '../../src/strata/index.js';
import { tempDir } from '../fixtures/env.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function freshRoot(): Promise<Strata> {
  return openStrata({ root: await tempDir('strata-fsck-lib-'), namespace: 'default' });
}

/** A manifest blob whose labels reference `children`, and an image record pointing at it. */
async function image(s: Strata, name: string, children: Record<string, string>) {
  const manifest = Buffer.from(`manifest ${name}`);
  const labels = Object.fromEntries(
    Object.entries(children).map(([k, d]) => [`${GC_REF_CONTENT}.${k}`, d]),
  );
  await writeBlob(s.content, manifest, { expected: digestOf(manifest), labels });
  const target = { mediaType: MANIFEST, digest: digestOf(manifest), size: manifest.length };
  s.images.create({ name, target });
  return target.digest;
}

describe('fsck', () => {
  it('reports a whole root consistent, with what it checked', async () => {
    const s = await freshRoot();
    const layer = Buffer.from('a layer');
    await writeBlob(s.content, layer, { expected: digestOf(layer) });
    await image(s, 'example.com/app:1', { 'l.0': digestOf(layer) });
    expect(await fsck(s)).toEqual({
      findings: [],
      consistent: true,
      checked: { blobs: 2, records: 3, snapshots: 0 },
    });
    s.close();
  });

  it('names an image whose target or referenced content is not stored, and odd blob files', async () => {
    const s = await freshRoot();
    const absent = digestOf('never stored');
    await image(s, 'example.com/needs:1', { config: absent });
    const target = { mediaType: MANIFEST, digest: digestOf('no manifest'), size: 11 };
    s.images.create({ name: 'example.com/hollow:1', target });
    writeFileSync(join(s.blobs.dir, 'blobs', 'sha256', 'not-a-digest'), 'x');
    const r = await fsck(s, { noVerify: true });
    expect(r.consistent).toBe(false);
    expect(r.findings).toEqual([
      {
        severity: 'garbage',
        subject: 'blob file not-a-digest',
        message: 'not named by a sha256 digest',
      },
      {
        severity: 'error',
        subject: 'image example.com/hollow:1',
        message: `namespace default: target ${target.digest} is not in its content`,
      },
      {
        severity: 'error',
        subject: 'image example.com/needs:1',
        message: `namespace default: needs ${absent} (config), which is not stored`,
      },
    ]);
    s.close();
  });

  it('drops an ingest record whose data is gone with --repair, and says so', async () => {
    const s = await freshRoot();
    const writer = await s.content.writer({ ref: 'download-1' });
    await writer.write(Buffer.from('partial'));
    await writer.close();
    const kept = await s.content.writer({ ref: 'download-2' });
    await kept.write(Buffer.from('resumable'));
    await kept.close();
    // The data goes (a crash, a hand), the record stays; gc keeps unexpired ingest records.
    await s.blobs.sweep('download-1', 'default');
    const lost = {
      severity: 'garbage',
      subject: 'ingest download-1',
      message: 'namespace default: recorded but has no data',
    } as const;
    const resumable = {
      severity: 'info',
      subject: 'ingest download-2',
      message: 'resumable at 9 bytes',
    } as const;
    expect((await fsck(s)).findings).toEqual([lost, resumable]);
    const repaired = await fsck(s, { repair: true });
    expect(repaired.findings).toEqual([{ ...lost, repaired: true }, resumable]);
    expect(repaired.consistent).toBe(true);
    expect(readInventory(s.db).ingests.map((i) => i.ref)).toEqual(['download-2']);
    expect((await fsck(s)).findings).toEqual([resumable]);
    s.close();
  });
});

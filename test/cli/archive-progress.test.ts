import { describe, expect, it } from 'vitest';
import type { ImportedImage } from '../../src/archive/index.js';
import { summary } from '../../src/cli/commands/archive-output.js';
import { createProgress } from '../../src/cli/progress.js';
import { capture } from '../fixtures/cli.js';

/** Import, export and preload progress renders like a pull's (bars, plain lines, JSON); the summary line of an import. */
const D = `sha256:${'cd'.repeat(32)}`;

describe('archive progress', () => {
  it.each(['reading', 'importing', 'exporting'])('draws a bar for %s on a terminal', (phase) => {
    const { out, text } = capture();
    const p = createProgress({ out, mode: 'tty', intervalMs: 10_000 });
    p.update({ phase, id: D, kind: 'blob', done: 512, total: 1024 });
    p.finish();
    expect(text()).toContain(`cdcdcdcdcdcd: ${phase} blob [==============>               ]`);
    expect(text()).toContain('512 B/1.0 KiB');
  });

  it('prints one plain line per phase, without byte counts in flight', () => {
    const { out, text } = capture();
    const p = createProgress({ out, mode: 'plain' });
    p.update({ phase: 'reading', id: 'bundle.tar', kind: 'archive', done: 0, total: 4096 });
    p.update({ phase: 'reading', id: 'bundle.tar', kind: 'archive', done: 4096, total: 4096 });
    for (let i = 0; i <= 1024; i += 256)
      p.update({ phase: 'importing', id: D, kind: 'blob', done: i, total: 1024 });
    p.update({ phase: 'done', id: D, kind: 'blob', done: 1024, total: 1024 });
    p.finish();
    expect(text()).toBe(
      [
        'bundle.tar: reading archive',
        'cdcdcdcdcdcd: importing blob',
        'cdcdcdcdcdcd: done blob (1.0 KiB)',
        '',
      ].join('\n'),
    );
  });

  it('throttles JSON byte events of exports', () => {
    const { out, text } = capture();
    const p = createProgress({ out, mode: 'json', intervalMs: 10_000 });
    for (let i = 0; i <= 10; i++) p.update({ phase: 'exporting', id: D, done: i, total: 10 });
    const events = text().trim().split('\n');
    expect(events).toHaveLength(2); // the first and the last
  });
});

describe('import summary line', () => {
  const image = (status: ImportedImage['status'], layersUnpacked?: number): ImportedImage => ({
    image: {
      name: `example.com/${status}:1`,
      target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D, size: 1 },
    } as ImportedImage['image'],
    status,
    ...(layersUnpacked === undefined ? {} : { layersUnpacked }),
  });

  it('says nothing changed when nothing did', () => {
    expect(summary([image('unchanged', 0), image('unchanged', 0)])).toBe(
      'nothing changed: 2 images already present',
    );
    expect(summary([image('unchanged')])).toBe('nothing changed: 1 image already present');
  });

  it('counts what changed, and layers only when unpacking', () => {
    expect(summary([image('created', 2), image('unchanged', 1)])).toBe(
      '2 images: 1 created, 1 unchanged; 3 layers unpacked',
    );
    expect(summary([image('updated')])).toBe('1 image: 1 updated');
  });
});

import { describe, expect, it } from 'vitest';
import { createProgress, displayId, progressMode } from '../../src/cli/progress.js';
import { capture } from '../fixtures/cli.js';

const D = `sha256:${'ab'.repeat(32)}`;

describe('progress renderer', () => {
  it('prints one plain line per phase change', () => {
    const { out, text } = capture();
    const p = createProgress({ out, mode: 'plain' });
    p.update({ phase: 'resolving', id: 'docker.io/library/alpine:latest' });
    p.update({ phase: 'waiting', id: D, kind: 'layer', done: 0, total: 2048 });
    for (let i = 0; i <= 2048; i += 512)
      p.update({ phase: 'downloading', id: D, kind: 'layer', done: i, total: 2048 });
    p.update({ phase: 'retrying', id: D, kind: 'layer', message: 'HTTP 503' });
    p.update({ phase: 'done', id: D, kind: 'layer', done: 2048, total: 2048 });
    p.finish();
    expect(text()).toBe(
      [
        'docker.io/library/alpine:latest: resolving',
        'abababababab: waiting layer',
        'abababababab: downloading layer',
        'abababababab: retrying layer: HTTP 503',
        'abababababab: done layer (2.0 KiB)',
        '',
      ].join('\n'),
    );
  });

  it('throttles JSON byte updates but keeps phase changes and the last bytes', () => {
    const { out, text } = capture();
    const p = createProgress({ out, mode: 'json', intervalMs: 10_000 });
    for (let i = 0; i <= 10; i++)
      p.update({ phase: 'downloading', id: D, done: i * 100, total: 1000 });
    p.update({ phase: 'done', id: D, done: 1000, total: 1000 });
    const events = text()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { progress: { phase: string; done: number } }).progress);
    expect(events.map((e) => [e.phase, e.done])).toEqual([
      ['downloading', 0],
      ['downloading', 1000],
      ['done', 1000],
    ]);
  });

  it('draws bars in place on a terminal', () => {
    const { out, text } = capture();
    const p = createProgress({ out, mode: 'tty', intervalMs: 10_000 });
    p.update({ phase: 'downloading', id: D, done: 512, total: 1024 });
    p.update({ phase: 'downloading', id: 'sha256:other', done: 0, total: 10 });
    p.finish();
    p.update({ phase: 'done', id: D, done: 1024, total: 1024 });
    p.finish();
    expect(text()).toContain(
      'abababababab: downloading [==============>               ] 512 B/1.0 KiB',
    );
    expect(text()).toContain('\x1b[2A');
    expect(progressMode(out, true)).toBe('json');
    expect(progressMode(out, false)).toBe('plain');
    expect(displayId('docker.io/x:1')).toBe('docker.io/x:1');
  });
});

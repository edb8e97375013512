import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openWriter } from '../../src/content/index.js';
import { isCode } from '../../src/errors.js';
import { digestOf } from '../../src/oci/digest.js';
import { openStrata } from '../../src/strata/index.js';
import { strata } from '../fixtures/cli.js';
import { tempDir } from '../fixtures/env.js';

const DIST_ROOT = fileURLToPath(new URL('../../dist/src/index.js', import.meta.url));

/** Starts a process that opens a writer on `ref`, writes `bytes` bytes and holds it. */
async function holder(root: string, ref: string, bytes: number) {
  const script = `
    const { openStrata } = await import(${JSON.stringify(DIST_ROOT)});
    const s = await openStrata({ root: ${JSON.stringify(root)}, namespace: 'test' });
    const w = await s.content.writer({ ref: ${JSON.stringify(ref)} });
    await w.write(Buffer.alloc(${bytes}, 7));
    process.stdout.write('ready\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
  return child;
}

describe('content store shared by processes', () => {
  it('keeps one writer per ref across processes, and frees the ref when the holder dies', async () => {
    const root = join(await tempDir(), 'root');
    const child = await holder(root, 'layer-x', 100_000);
    const s = await openStrata({ root, namespace: 'test' });
    try {
      const err = await s.content.writer({ ref: 'layer-x' }).catch((e: unknown) => e);
      expect(isCode(err, 'Unavailable')).toBe(true);
      const waited = await openWriter(s.content, { ref: 'layer-x', timeoutMs: 300 }).catch(
        (e: unknown) => e,
      );
      expect(isCode(waited, 'Unavailable')).toBe(true);
      // SIGKILL: the holder never cleans up, the kernel drops its flock.
      const gone = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await gone;
      const w = await openWriter(s.content, { ref: 'layer-x', timeoutMs: 5000 });
      expect(w.offset).toBe(100_000);
      expect(w.digest()).toBe(digestOf(Buffer.alloc(100_000, 7)));
      await w.close();
    } finally {
      child.kill('SIGKILL');
      s.close();
    }
  });

  it('lets two CLI ingests of the same ref run at once: both succeed, one blob stored', async () => {
    const dir = await tempDir();
    const root = join(dir, 'root');
    const file = join(dir, 'blob');
    const data = randomBytes(20_000_000);
    await writeFile(file, data);
    const digest = digestOf(data);
    const args = ['content', 'ingest', 'same-ref', '--expected', digest];
    const [a, b] = await Promise.all([
      strata(args, { root, inputFile: file }),
      strata(args, { root, inputFile: file }),
    ]);
    expect([a.code, b.code, a.stderr + b.stderr]).toEqual([0, 0, '']);
    expect([a.stdout, b.stdout].sort()).toEqual([
      `${digest} already exists\n`,
      `${digest} committed\n`,
    ]);
    const ls = await strata(['content', 'ls', '-q'], { root });
    expect(ls.stdout).toBe(`${digest}\n`);
    expect((await strata(['content', 'active', '--json'], { root })).stdout.trim()).toBe('[]');
  });
});

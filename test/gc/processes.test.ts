/**
 * Several strata processes on one root, as the CLI runs them: pulls of the same image at
 * once, garbage collection racing pulls. Nothing is downloaded or unpacked twice, nothing
 * in use is deleted, and no SQLite busy error reaches the user.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strata } from '../fixtures/cli.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import { type FaultProxy, startFaultProxy } from '../fixtures/fault-proxy.js';
import { pushImage, type TestImage } from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { imageOf } from '../image/fixtures.js';

const noRegistry = missing({ commands: [REGISTRY_BIN] });

/** `--json` progress lines of a run. */
const events = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{"progress"'))
    .map((l) => (JSON.parse(l) as { progress: { phase: string; id: string } }).progress);

describe.skipIf(noRegistry)(`several processes on one root${skipNote(noRegistry)}`, () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let image: TestImage;
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('strata-procs-');
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    image = imageOf([
      [
        { name: 'a/', mode: 0o755 },
        { name: 'a/big', content: randomBytes(4_000_000) },
      ],
      [
        { name: 'b/', mode: 0o755 },
        { name: 'b/big', content: randomBytes(3_000_000) },
      ],
      [
        { name: 'c/', mode: 0o755 },
        { name: 'c/small', content: 'c' },
      ],
    ]);
    await pushImage(registry.url, 'procs/app', 'v1', image);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it('two pulls of one image at once both succeed; each blob is fetched once, each layer unpacked once', async () => {
    const root = join(dir, 'two-pulls');
    proxy.clear();
    const ref = `${proxy.host}/procs/app:v1`;
    const [a, b] = await Promise.all([
      strata(['pull', '--json', ref], { root }),
      strata(['pull', '--json', ref], { root }),
    ]);
    expect(
      [a.code, b.code],
      a.stderr
        .split('\n')
        .filter((l) => !l.startsWith('{"progress'))
        .join('\n') +
        b.stderr
          .split('\n')
          .filter((l) => !l.startsWith('{"progress'))
          .join('\n'),
    ).toEqual([0, 0]);
    for (const layer of image.layers) {
      const gets = proxy.requests.filter(
        (r) => r.method === 'GET' && r.path.endsWith(layer.digest),
      );
      expect(gets.length, `GETs of ${layer.digest}`).toBe(1);
      // Which processes unpacked the layer (byte progress repeats the phase within one).
      const unpackedBy = [a.stderr, b.stderr].filter((err) =>
        events(err).some((e) => e.id === layer.digest && e.phase === 'unpacking'),
      );
      expect(unpackedBy.length, `processes unpacking ${layer.digest}`).toBe(1);
    }
    expect(a.stderr + b.stderr).not.toMatch(/busy|locked/i);
    const fsck = await strata(['fsck'], { root });
    expect(fsck.code, fsck.stdout).toBe(0);
    expect((await strata(['images', 'ls', '-q'], { root })).stdout).toBe(`${ref}\n`);
  });

  it('gc, rm and pull racing in separate processes keep the store consistent', async () => {
    const root = join(dir, 'races');
    const ref = `${registry.host}/procs/app:v1`;
    for (let round = 0; round < 3; round++) {
      const pulls = [
        strata(['pull', ref], { root }),
        strata(['pull', '--no-unpack', ref], { root }),
      ];
      const gcs = (async () => {
        const results = [];
        for (let i = 0; i < 4; i++) results.push(await strata(['gc'], { root }));
        return results;
      })();
      const done = await Promise.all(pulls);
      for (const g of await gcs) expect(g.code, g.stderr).toBe(0);
      expect(
        done.map((p) => p.code),
        done.map((p) => p.stderr).join(''),
      ).toEqual([0, 0]);
      const fsck = await strata(['fsck'], { root });
      expect(fsck.code, fsck.stdout).toBe(0);
      // The image pulled is whole: unpacking it again finds every layer committed.
      const unpack = await strata(['images', 'unpack', '--json', ref], { root });
      expect(JSON.parse(unpack.stdout)).toMatchObject({ unpacked: 0 });
      if (round < 2) {
        expect((await strata(['images', 'rm', ref], { root })).code).toBe(0);
        const racing = await Promise.all([
          strata(['gc'], { root }),
          strata(['pull', ref], { root }),
        ]);
        expect(
          racing.map((r) => r.code),
          racing.map((r) => r.stderr).join(''),
        ).toEqual([0, 0]);
      }
    }
  });
});

/**
 * SIGKILL at random points: `strata pull`, `images unpack`, `import` and `gc` are killed
 * again and again at instants drawn from a seeded generator (the seed is printed with any
 * failure; STRATA_KILL_SEED replays one). After every kill `strata fsck` finds the store
 * consistent; the next run completes, resuming a download from the bytes already there;
 * the end state is the one an uninterrupted run gives.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStrata } from '../../src/strata/index.js';
import { diffTrees } from '../apply/tree.js';
import { STRATA_BIN, strata } from '../fixtures/cli.js';
import { isRoot, missing, skipNote, tempDir } from '../fixtures/env.js';
import { type FaultProxy, startFaultProxy } from '../fixtures/fault-proxy.js';
import { pushImage, type TestImage } from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import type { TarEntrySpec } from '../fixtures/tar-builder.js';
import { imageOf, mountedTree } from '../image/fixtures.js';

const noRegistry = missing({ commands: [REGISTRY_BIN] });
const KILLS = 6;
const seed = Number(process.env.STRATA_KILL_SEED ?? Date.now() % 1_000_000);
const MiB = 1024 * 1024;

/** mulberry32: a small seeded generator, so a failing sequence of kill points replays. */
function generator(s: number): (lo: number, hi: number) => number {
  let a = s >>> 0;
  return (lo, hi) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.round(lo + r * (hi - lo));
  };
}

/** Many small files: an unpack, and the deletion of its snapshot, that take a while. */
function manyFiles(dir: string, count: number): TarEntrySpec[] {
  const entries: TarEntrySpec[] = [{ name: `${dir}/`, mode: 0o755 }];
  for (let i = 0; i < count; i++) {
    if (i % 100 === 0) entries.push({ name: `${dir}/d${i / 100}/`, mode: 0o755 });
    entries.push({ name: `${dir}/d${Math.floor(i / 100)}/f${i}`, content: randomBytes(512) });
  }
  return entries;
}

interface Killed {
  /** False when the run ended on its own before the kill point. */
  readonly killed: boolean;
  readonly code: number | null;
}

/** Runs `strata ARGS` and SIGKILLs it after `afterMs` (or when `until` resolves first). */
async function killedRun(
  root: string,
  args: readonly string[],
  afterMs: number,
  until?: Promise<void>,
): Promise<Killed> {
  const child: ChildProcess = spawn(process.execPath, [STRATA_BIN, '--root', root, ...args], {
    env: { ...process.env, STRATA_ROOT: '', STRATA_NAMESPACE: '' },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const timer = new Promise<void>((resolve) => setTimeout(resolve, afterMs));
  const first = await Promise.race([
    exited.then(() => 'exited' as const),
    (until !== undefined ? Promise.race([timer, until]) : timer).then(() => 'kill' as const),
  ]);
  if (first === 'kill') child.kill('SIGKILL');
  const code = await exited;
  return { killed: first === 'kill' && code === null, code };
}

describe.skipIf(noRegistry)(`SIGKILL at random points${skipNote(noRegistry)}`, () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let dir: string;
  let image: TestImage;
  let other: TestImage;
  const at = generator(seed);
  const why = (what: string) => `${what} (seed ${seed}: STRATA_KILL_SEED=${seed} replays it)`;

  beforeAll(async () => {
    dir = await tempDir('strata-kill-');
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    const base: TarEntrySpec[] = [
      { name: 'data/', mode: 0o755 },
      { name: 'data/big', content: randomBytes(6 * MiB) },
    ];
    image = imageOf([
      base,
      manyFiles('small', 1500),
      [{ name: 'data/.wh.big' }, { name: 'etc/', mode: 0o755 }, { name: 'etc/app', content: 'a' }],
    ]);
    // Shares the first layer with `image`: gc must keep what the remaining image needs.
    other = imageOf([base, manyFiles('other', 3000)]);
    await pushImage(registry.url, 'kill/app', 'v1', image);
    await pushImage(registry.url, 'kill/other', 'v1', other);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  const fsckClean = async (root: string, after: string) => {
    const fsck = await strata(['fsck'], { root });
    expect(fsck.code, why(`fsck after ${after}:\n${fsck.stdout}${fsck.stderr}`)).toBe(0);
  };
  const run = async (root: string, args: readonly string[]) => {
    const r = await strata(args, { root });
    expect(r.code, why(`${args.join(' ')}: ${r.stderr}`)).toBe(0);
    return r;
  };
  const timed = async (root: string, args: readonly string[]) => {
    const start = performance.now();
    await run(root, args);
    return performance.now() - start;
  };
  /** What an image's store holds, to compare a killed root with an uninterrupted one. */
  const state = async (root: string) => {
    const content = JSON.parse((await run(root, ['content', 'ls', '--json'])).stdout) as {
      digest: string;
    }[];
    const snapshots = JSON.parse((await run(root, ['snapshots', 'ls', '--json'])).stdout) as {
      name: string;
      kind: string;
    }[];
    return {
      content: content.map((c) => c.digest).sort(),
      snapshots: snapshots.map((s) => `${s.kind} ${s.name}`).sort(),
    };
  };
  const sameRootfs = async (root: string, clean: string, ref: string) => {
    if (!isRoot) return; // mounting needs root; the records were compared already
    const a = await openStrata({ root });
    const b = await openStrata({ root: clean });
    try {
      const got = await mountedTree(a, ref, 'overlay', join(root, '..', 'mnt-a'));
      const want = await mountedTree(b, ref, 'overlay', join(root, '..', 'mnt-b'));
      // The root directory has no entry in the layers: its mtime is when it was made.
      got.delete('.');
      want.delete('.');
      expect(want.size).toBeGreaterThan(1500);
      expect(diffTrees(want, got)).toEqual([]);
    } finally {
      a.close();
      b.close();
    }
  };

  /**
   * Runs `args` until it has been killed KILLS times at drawn points (a run that finishes
   * first is followed by `reset`), checking the store after every run.
   */
  const killRepeatedly = async (
    what: string,
    root: string,
    args: readonly string[],
    duration: number,
    reset: () => Promise<void>,
    check?: (run: number) => Promise<void>,
  ) => {
    let killed = 0;
    for (let i = 0; killed < KILLS && i < 3 * KILLS; i++) {
      const k = await killedRun(root, args, at(50, duration));
      await fsckClean(root, `${what} ${k.killed ? 'killed' : 'finished'} (run ${i})`);
      await check?.(i);
      if (k.killed) killed++;
      else await reset();
    }
    expect(killed, why(`${what}: runs killed`)).toBeGreaterThan(1);
  };

  it('pull: consistent after every kill, resumes downloads, ends as a clean pull', async () => {
    const root = join(dir, 'pull', 'root');
    const clean = join(dir, 'pull', 'clean');
    const ref = `${proxy.host}/kill/app:v1`;
    const big = image.layers[0]!;
    const slowly = () => {
      proxy.clear();
      // ~2 s for the big layer: kills land before, inside and after its download.
      proxy.inject(new RegExp(big.digest.slice(7)), { kind: 'slow', bytesPerSecond: 3 * MiB }, 99);
    };
    slowly();
    const duration = await timed(clean, ['pull', ref]);
    const offset = async () => {
      const s = await openStrata({ root });
      try {
        return (await s.content.status(big.digest)).offset;
      } catch {
        return 0;
      } finally {
        s.close();
      }
    };
    let resumed = 0;
    let killed = 0;
    for (let i = 0; i < KILLS; i++) {
      const before = await offset();
      slowly();
      // One kill is placed, not drawn: once a megabyte of the big layer is on disk.
      const midBlob =
        i === 1
          ? (async () => {
              while ((await offset()) < MiB) await new Promise((r) => setTimeout(r, 50));
            })()
          : undefined;
      const k = await killedRun(
        root,
        ['pull', ref],
        i === 1 ? duration * 2 : at(50, duration),
        midBlob,
      );
      if (k.killed) killed++;
      const gets = proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(big.digest));
      if (before > 0 && gets.length > 0) {
        expect(gets[0]!.range, why(`run ${i} resumes at ${before}`)).toBe(`bytes=${before}-`);
        resumed++;
      }
      await fsckClean(root, `pull killed (run ${i})`);
    }
    expect(resumed, why('a run resumed a partial download')).toBeGreaterThan(0);
    expect(killed, why('runs killed')).toBeGreaterThan(1);
    slowly();
    await run(root, ['pull', ref]);
    await fsckClean(root, 'the final pull');
    await run(root, ['gc']);
    expect(await state(root)).toEqual(await state(clean));
    await sameRootfs(root, clean, ref);
  });

  it('images unpack: consistent after every kill, ends as a clean unpack', async () => {
    const root = join(dir, 'unpack', 'root');
    const clean = join(dir, 'unpack', 'clean');
    const ref = `${registry.host}/kill/app:v1`;
    await run(clean, ['pull', '--no-unpack', ref]);
    const duration = await timed(clean, ['images', 'unpack', ref]);
    await run(root, ['pull', '--no-unpack', ref]);
    await killRepeatedly('images unpack', root, ['images', 'unpack', ref], duration, async () => {
      // It finished before its kill point: start again from nothing unpacked.
      await run(root, ['images', 'rm', ref]);
      await run(root, ['gc']);
      await run(root, ['pull', '--no-unpack', ref]);
    });
    await run(root, ['images', 'unpack', ref]);
    await fsckClean(root, 'the final unpack');
    await run(root, ['gc']);
    expect(await state(root)).toEqual(await state(clean));
    await sameRootfs(root, clean, ref);
  });

  it('import --unpack: consistent after every kill, ends as a clean import', async () => {
    const root = join(dir, 'import', 'root');
    const clean = join(dir, 'import', 'clean');
    const source = join(dir, 'import', 'source');
    const archive = join(dir, 'import', 'app.tar');
    const ref = `${registry.host}/kill/app:v1`;
    await run(source, ['pull', '--no-unpack', ref]);
    await run(source, ['export', archive, ref]);
    const duration = await timed(clean, ['import', '--unpack', archive]);
    await killRepeatedly('import', root, ['import', '--unpack', archive], duration, async () => {
      // It finished before its kill point: start again from an empty store.
      await run(root, ['images', 'rm', ref]);
      await run(root, ['gc']);
    });
    await run(root, ['import', '--unpack', archive]);
    await fsckClean(root, 'the final import');
    await run(root, ['gc']);
    expect(await state(root)).toEqual(await state(clean));
    await sameRootfs(root, clean, ref);
  });

  it('gc: consistent after every kill, keeps what the remaining image needs', async () => {
    const root = join(dir, 'gc', 'root');
    const scratch = join(dir, 'gc', 'scratch');
    const fresh = join(dir, 'gc', 'fresh');
    const ref = `${registry.host}/kill/app:v1`;
    const gone = `${registry.host}/kill/other:v1`;
    for (const r of [root, scratch]) {
      await run(r, ['pull', ref]);
      await run(r, ['pull', gone]);
      await run(r, ['images', 'rm', gone]);
    }
    const duration = await timed(scratch, ['gc']);
    await killRepeatedly(
      'gc',
      root,
      ['gc'],
      duration,
      async () => {
        // It finished before its kill point: give it the same garbage again.
        await run(root, ['pull', gone]);
        await run(root, ['images', 'rm', gone]);
      },
      async (i) => {
        // What the remaining image needs is all there after any kill: nothing to unpack.
        const unpack = await run(root, ['images', 'unpack', '--json', ref]);
        expect(JSON.parse(unpack.stdout), why(`gc killed (run ${i})`)).toMatchObject({
          unpacked: 0,
        });
      },
    );
    await run(root, ['gc']);
    await fsckClean(root, 'the final gc');
    await run(fresh, ['pull', ref]);
    expect(await state(root)).toEqual(await state(fresh));
    await sameRootfs(root, fresh, ref);
  });
});

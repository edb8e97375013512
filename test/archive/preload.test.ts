/**
 * The offline story end to end, through the CLI as users run it: images pulled on one root
 * travel as an export or one preload bundle to a fresh root with no registry, and come out
 * recorded, unpacked and identical (same digests; same rootfs as umoci unpacks). A second
 * apply changes nothing; an apply killed half-way, or fed a truncated bundle, completes
 * when run again; re-creating a bundle fetches no blob twice; progress shows as plain lines
 * and JSON events.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStrata } from '../../src/strata/index.js';
import { diffTrees, type Tree } from '../apply/tree.js';
import { STRATA_BIN, strata } from '../fixtures/cli.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import { type FaultProxy, startFaultProxy } from '../fixtures/fault-proxy.js';
import { buildImage, pushImage, type TestImage } from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import type { TarEntrySpec } from '../fixtures/tar-builder.js';
import { comparable, imageOf, mountedTree, umociRootfs } from '../image/fixtures.js';

const reason =
  missing({ root: true, commands: [REGISTRY_BIN, 'umoci'] }) ??
  (existsSync(STRATA_BIN) ? undefined : 'CLI not built');

const dir = await tempDir('strata-preload-');
const t = (s: number) => 1_700_000_000 + s;
const big = randomBytes(12 * 1024 * 1024);

/** Two layers with the hard parts: modes, owners, links, devices, whiteouts, an opaque dir. */
const layers: TarEntrySpec[][] = [
  [
    { name: './', mode: 0o755, mtime: t(0) },
    { name: 'bin/', mode: 0o755, mtime: t(1) },
    { name: 'bin/ping', content: 'ping', mode: 0o4755, mtime: t(2) },
    { name: 'etc/', mode: 0o755, mtime: t(3) },
    { name: 'etc/shadow', content: 'root:*:1::::::\n', mode: 0o640, gid: 42, mtime: t(4) },
    { name: 'etc/apt/', mode: 0o755, mtime: t(5) },
    { name: 'etc/apt/sources.list', content: 'deb bookworm main\n', mtime: t(5) },
    { name: 'dev/', mode: 0o755, mtime: t(6) },
    { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, mtime: t(6) },
    { name: 'lib', type: 'symlink', linkname: 'usr/lib', mtime: t(7) },
    { name: 'usr/', mode: 0o755, mtime: t(8), xattrs: { 'user.note': 'usr' } },
    { name: 'usr/lib/', mode: 0o755, mtime: t(9) },
    { name: 'usr/lib/big', content: big, mtime: t(10) },
  ],
  [
    { name: 'bin/ping-again', type: 'link', linkname: 'bin/ping' },
    { name: 'etc/', mode: 0o755, mtime: t(21) },
    { name: 'etc/.wh.shadow' },
    { name: 'etc/apt/', mode: 0o755, mtime: t(30) },
    { name: 'etc/apt/.wh..wh..opq' },
    { name: 'etc/apt/NOTE', content: 'replaced\n', mtime: t(31) },
    { name: 'opt/', mode: 0o755, mtime: t(32) },
    { name: 'opt/app/', mode: 0o750, uid: 100, gid: 100, mtime: t(32) },
    { name: 'opt/app/run', content: 'run', mode: 0o755, uid: 100, gid: 100, mtime: t(32) },
  ],
];

interface Imported {
  readonly name: string;
  readonly target: { digest: string };
  readonly status: 'created' | 'updated' | 'unchanged';
  readonly chainId?: string;
}

async function ok(args: readonly string[], root: string) {
  const r = await strata(args, { root });
  expect(r.code, `strata ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

/** The rootfs of `name` in `root`, mounted read-only and pictured. */
async function rootfs(root: string, name: string): Promise<Tree> {
  const s = await openStrata({ root, namespace: 'default' });
  try {
    return await mountedTree(s, name, 'overlay', join(root, '..'));
  } finally {
    s.close();
  }
}

/** Every file under `path` with its inode and mtime: what a no-op must leave alone. */
function fileStamps(path: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string) => {
    for (const name of readdirSync(p)) {
      const full = join(p, name);
      const st = statSync(full, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(full);
      else out.set(full, `${st.ino}:${st.mtimeMs}:${st.size}`);
    }
  };
  walk(path);
  return out;
}

describe.skipIf(reason)(`export, import and preload between roots${skipNote(reason)}`, () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let app: TestImage;
  let tool: TestImage;
  let want: Tree;
  const appName = () => `${proxy.host}/preload/app:v1`;
  const toolName = () => `${proxy.host}/preload/tool:2`;

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    app = imageOf(layers);
    tool = await buildImage({ layers: [{ files: { 'usr/bin/tool': 'tool\n' } }] });
    await pushImage(registry.url, 'preload/app', 'v1', app);
    await pushImage(registry.url, 'preload/tool', '2', tool);
    want = comparable(umociRootfs(app, join(dir, 'umoci')));
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it('round trip: pull, export, import into a fresh root: same digest, same rootfs', async () => {
    const a = join(dir, 'rt-a');
    await ok(['pull', appName()], a);
    const tar = join(dir, 'rt.tar');
    await ok(['export', tar, appName()], a);
    const b = join(dir, 'rt-b');
    const r = await ok(['--json', 'import', tar, '--unpack'], b);
    const [got] = JSON.parse(r.stdout) as Imported[];
    expect(got).toMatchObject({ name: appName(), target: { digest: app.manifest.digest } });
    const fromPull = await rootfs(a, appName());
    expect(diffTrees(want, fromPull)).toEqual([]);
    expect(diffTrees(fromPull, await rootfs(b, appName()))).toEqual([]);
  });

  describe('preload', () => {
    let bundle: string;
    let list: string;
    const source = join(dir, 'source');

    beforeAll(async () => {
      list = join(dir, 'list.txt');
      await writeFile(
        list,
        [
          '# images for the air-gapped machine',
          '',
          `${appName()}   # the application`,
          toolName(),
          `${toolName()}  # twice: once in the bundle`,
          '',
        ].join('\n'),
      );
      bundle = join(dir, 'bundle.tar');
      proxy.clear();
      const r = await ok(['preload', 'create', bundle, '--from', list], source);
      expect(r.stdout).toContain(`${appName()}`);
      expect(r.stdout).toMatch(/bundle\.tar: 2 images, \d+ blobs/);
      // plain progress lines: each blob fetched, then written into the bundle
      expect(r.stderr).toContain(`${app.layers[0]!.digest.slice(7, 19)}: done`);
      expect(r.stderr).toContain(': exporting blob');
    });

    it('apply into a fresh root with no registry: recorded, unpacked, identical', async () => {
      await registry.stop();
      const fresh = join(dir, 'apply-1');
      const r = await ok(['--json', 'preload', 'apply', bundle, '--unpack'], fresh);
      const got = (JSON.parse(r.stdout) as Imported[]).sort((x, y) => x.name.localeCompare(y.name));
      expect(got.map((i) => [i.name, i.target.digest, i.status])).toEqual([
        [appName(), app.manifest.digest, 'created'],
        [toolName(), tool.manifest.digest, 'created'],
      ]);
      expect(got.every((i) => i.chainId?.startsWith('sha256:'))).toBe(true);
      // --json progress: one JSON event per line on stderr
      const events = r.stderr
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { progress: { phase: string; id: string } }).progress);
      expect(events).toContainEqual(expect.objectContaining({ phase: 'reading' }));
      expect(events).toContainEqual(
        expect.objectContaining({ phase: 'done', id: app.layers[0]!.digest }),
      );
      expect(diffTrees(want, await rootfs(fresh, appName()))).toEqual([]);
      const ls = await ok(['images', 'ls', '-q'], fresh);
      expect(ls.stdout.trim().split('\n').sort()).toEqual([appName(), toolName()].sort());
    });

    it('a second apply changes nothing and says so', async () => {
      const root = join(dir, 'apply-1');
      const before = fileStamps(root);
      const snapshots = (await ok(['snapshots', 'ls', '-q'], root)).stdout;
      const r = await ok(['preload', 'apply', bundle], root);
      expect(r.stdout).toMatch(/unchanged/);
      expect(r.stdout).toMatch(/\nnothing changed: 2 images already present\n$/);
      expect((await ok(['snapshots', 'ls', '-q'], root)).stdout).toBe(snapshots);
      const after = fileStamps(root);
      const changed = [...before]
        .filter(([p, s]) => after.get(p) !== s && !/meta\.db/.test(p))
        .map(([p]) => p);
      expect(changed).toEqual([]);
    });

    it('an apply killed half-way completes when run again', async () => {
      const root = join(dir, 'apply-killed');
      const bytes = await readFile(bundle);
      const child = spawn(process.execPath, [STRATA_BIN, '--root', root, 'preload', 'apply', '-'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, STRATA_ROOT: '', STRATA_NAMESPACE: '' },
      });
      child.stdin.on('error', () => {}); // EPIPE once it is killed
      let stderr = '';
      const bigLayer = app.layers[0]!.digest.slice(7, 19);
      const importing = new Promise<void>((resolve) => {
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString();
          if (stderr.includes(`${bigLayer}: importing`)) resolve();
        });
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // Half the bundle, then nothing: the process is inside the big layer when killed.
      child.stdin.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      await importing;
      child.kill('SIGKILL');
      await exited;
      expect((await ok(['images', 'ls', '-q'], root)).stdout).toBe('');
      const active = (await ok(['content', 'active'], root)).stdout;
      expect(active).toContain(app.layers[0]!.digest);
      const r = await ok(['--json', 'preload', 'apply', bundle], root);
      const got = JSON.parse(r.stdout) as Imported[];
      expect(got.map((i) => i.status)).toEqual(['created', 'created']);
      expect((await ok(['content', 'active'], root)).stdout).not.toContain(app.layers[0]!.digest);
      expect(diffTrees(want, await rootfs(root, appName()))).toEqual([]);
    });

    it('a truncated bundle: a clear error, nothing recorded; the whole bundle then applies', async () => {
      const root = join(dir, 'apply-truncated');
      const bytes = await readFile(bundle);
      const cut = join(dir, 'cut.tar');
      await writeFile(cut, bytes.subarray(0, bytes.length - 3000));
      const bad = await strata(['preload', 'apply', cut], { root });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/\nstrata: \S*cut\.tar: .*truncated.*\n$/);
      expect((await ok(['images', 'ls', '-q'], root)).stdout).toBe('');
      const r = await ok(['--json', 'preload', 'apply', bundle], root);
      expect((JSON.parse(r.stdout) as Imported[]).map((i) => i.status)).toEqual([
        'created',
        'created',
      ]);
    });

    it('re-running create reuses the store: no blob fetched again, the same bundle', async () => {
      registry = await startRegistry({ storageDir: registry.storageDir });
      const again = await startFaultProxy(registry.url);
      try {
        // the same names: the proxy's host is part of them, so reach the new registry through a
        // list naming the new proxy, the blobs being the same digests
        const list2 = join(dir, 'list2.txt');
        const text = (await readFile(list, 'utf8')).replaceAll(proxy.host, again.host);
        await writeFile(list2, text);
        const first = join(dir, 'bundle2.tar');
        await ok(['preload', 'create', first, '--from', list2], source);
        const blobGets = again.requests.filter(
          (r) => r.method === 'GET' && r.path.includes('/blobs/'),
        );
        expect(blobGets).toEqual([]);
        again.clear();
        const second = join(dir, 'bundle3.tar');
        await ok(['preload', 'create', second, '--from', list2], source);
        expect(again.requests.filter((r) => r.path.includes('/blobs/'))).toEqual([]);
        expect((await readFile(first)).equals(await readFile(second))).toBe(true);
      } finally {
        await again.stop();
      }
    });
  });
});

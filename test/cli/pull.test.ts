import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openStrata } from '../../src/strata/index.js';
import { STRATA_BIN, strata } from '../fixtures/cli.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import { type FaultProxy, startFaultProxy } from '../fixtures/fault-proxy.js';
import { allBlobs, buildImage, pushImage, type TestImage } from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';

const reason =
  missing({ commands: [REGISTRY_BIN, 'htpasswd'] }) ??
  (existsSync(STRATA_BIN) ? undefined : 'CLI not built');
const SECRET = 'cli-s3cret-never-shown';

describe.skipIf(reason)(`strata pull, images, login (CLI)${skipNote(reason)}`, () => {
  let registry: TestRegistry;
  let guarded: TestRegistry;
  let proxy: FaultProxy;
  let image: TestImage;
  let home: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    registry = await startRegistry();
    guarded = await startRegistry({ storageDir: registry.storageDir, htpasswd: { alice: SECRET } });
    proxy = await startFaultProxy(registry.url);
    image = await buildImage({
      layers: [
        { files: { a: '1' } },
        { files: { b: '2' }, randomKiB: 1024 },
        { files: { c: '3' } },
      ],
    });
    await pushImage(registry.url, 'cli/app', 'v1', image);
    home = await tempDir('strata-cli-home-');
    env = { DOCKER_CONFIG: join(home, 'docker'), STRATA_HOSTS_DIR: '' };
  });

  it('pulls, lists, inspects, tags and removes an image', async () => {
    const root = await tempDir();
    const name = `${registry.host}/cli/app:v1`;
    const pulled = await strata(['pull', name], { root, env });
    expect(pulled.stderr).toContain(': done layer');
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toBe(`${name}: ${image.manifest.digest}\n`);
    const ls = await strata(['images', 'ls'], { root, env });
    expect(ls.stdout).toContain(name);
    expect(ls.stdout).toContain('linux/amd64');
    const lsJson = JSON.parse((await strata(['images', 'ls', '--json'], { root, env })).stdout) as {
      name: string;
      size: number;
    }[];
    expect(lsJson).toEqual([
      expect.objectContaining({ name, size: allBlobs(image).reduce((n, b) => n + b.size, 0) }),
    ]);
    const inspect = JSON.parse(
      (await strata(['images', 'inspect', name], { root, env })).stdout,
    ) as { manifests: { config: { rootfs: { diff_ids: string[] } } }[] };
    expect(inspect.manifests[0]!.config.rootfs.diff_ids).toEqual(image.diffIds);
    const layer = await strata(['content', 'get', image.layers[1]!.digest], { root, env });
    expect(layer.bytes.equals(image.layers[1]!.bytes)).toBe(true);
    expect((await strata(['images', 'tag', name, 'example.com/copy:1'], { root, env })).code).toBe(
      0,
    );
    expect((await strata(['images', 'rm', name], { root, env })).stdout).toBe(`${name}\n`);
    expect((await strata(['images', 'ls', '-q'], { root, env })).stdout).toBe(
      'example.com/copy:1\n',
    );
  });

  it('images ls and inspect show what is stored: a config removed by content rm is left out', async () => {
    const root = await tempDir();
    const name = `${registry.host}/cli/app:v1`;
    expect((await strata(['pull', '--no-unpack', name], { root, env })).code).toBe(0);
    const rm = await strata(['content', 'rm', image.config.digest], { root, env });
    expect(rm.code, rm.stderr).toBe(0);
    const ls = await strata(['--json', 'images', 'ls'], { root, env });
    expect(ls.code, ls.stderr).toBe(0);
    const stored = allBlobs(image).filter((b) => b.digest !== image.config.digest);
    expect(JSON.parse(ls.stdout)).toEqual([
      expect.objectContaining({ name, size: stored.reduce((n, b) => n + b.size, 0) }),
    ]);
    const inspect = await strata(['images', 'inspect', name], { root, env });
    expect(inspect.code, inspect.stderr).toBe(0);
    const got = JSON.parse(inspect.stdout) as { manifests: { config?: unknown }[] };
    expect(got.manifests).toHaveLength(1);
    expect(got.manifests[0]!.config).toBeUndefined();
  });

  it('takes command options before the command words too; options alone are one clear line', async () => {
    const root = await tempDir();
    const hostsDir = await tempDir('strata-hosts-');
    const name = `${registry.host}/cli/app:v1`;
    // The order of the report: global and command options first, then the command.
    const pulled = await strata(
      ['--hosts-dir', hostsDir, '--max-concurrent-downloads', '2', 'pull', '--no-unpack', name],
      { root, env },
    );
    expect(pulled.stderr).not.toContain('Usage');
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toBe(`${name}: ${image.manifest.digest}\n`);
    const optionsOnly = await strata(['--hosts-dir', hostsDir], { root, env });
    expect(optionsOnly.code).toBe(2);
    expect(optionsOnly.stdout).toBe('');
    expect(optionsOnly.stderr).toBe(
      'strata: no command given, only options (--hosts-dir...): see strata --help\n',
    );
    const unknown = await strata(['--bogus', 'pull', name], { root, env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain("'--bogus'");
  });

  it('prints JSON progress events and a JSON result with --json', async () => {
    const root = await tempDir();
    const r = await strata(
      ['--json', 'pull', `${registry.host}/cli/app:v1`, '--max-concurrent-downloads', '1'],
      { root, env },
    );
    expect(r.code).toBe(0);
    const events = r.stderr
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { progress: { phase: string; id: string } }).progress);
    expect(events[0]).toMatchObject({ phase: 'resolving' });
    for (const b of allBlobs(image))
      expect(events).toContainEqual(expect.objectContaining({ phase: 'done', id: b.digest }));
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: `${registry.host}/cli/app:v1`,
      target: { digest: image.manifest.digest },
    });
  });

  it('fetches content without recording an image, and rejects bad input clearly', async () => {
    const root = await tempDir();
    expect(
      (await strata(['content', 'fetch', `${registry.host}/cli/app:v1`], { root, env })).code,
    ).toBe(0);
    expect((await strata(['images', 'ls', '-q'], { root, env })).stdout).toBe('');
    expect(
      (await strata(['content', 'ls', '-q'], { root, env })).stdout.trim().split('\n'),
    ).toHaveLength(allBlobs(image).length);
    const bad = await strata(['pull', `${registry.host}/Cli/App:v1`], { root, env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^strata: reference ".*": uppercase in path "Cli\/App"\n$/);
    const both = await strata(['pull', 'alpine', '--platform', 'linux/arm64', '--all-platforms'], {
      root,
      env,
    });
    expect(both.code).toBe(2);
  });

  it('logs in, pulls with saved credentials, never shows them, logs out', async () => {
    const root = await tempDir();
    const name = `${guarded.host}/cli/app:v1`;
    const denied = await strata(['pull', name], { root, env });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(
      new RegExp(`\nstrata: manifest ${name}: registry ${guarded.host}: credentials required\n$`),
    );
    const wrong = await strata(['login', guarded.host, '-u', 'alice', '--password-stdin'], {
      root,
      env,
      input: `${SECRET}x\n`,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr + wrong.stdout).not.toContain(SECRET);
    const ok = await strata(['login', guarded.host, '-u', 'alice', '--password-stdin'], {
      root,
      env,
      input: `${SECRET}\n`,
    });
    expect(ok.stdout).toBe('Login Succeeded\n');
    const config = join(env.DOCKER_CONFIG!, 'config.json');
    expect(((await stat(config)).mode & 0o777).toString(8)).toBe('600');
    expect(JSON.parse(await readFile(config, 'utf8'))).toEqual({
      auths: { [guarded.host]: { auth: Buffer.from(`alice:${SECRET}`).toString('base64') } },
    });
    const pulled = await strata(['--json', 'pull', name], { root, env });
    expect(pulled.code).toBe(0);
    const everything = pulled.stdout + pulled.stderr;
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(Buffer.from(`alice:${SECRET}`).toString('base64'));
    expect((await strata(['logout', guarded.host], { root, env })).stdout).toBe(
      `Removed login credentials for ${guarded.host}\n`,
    );
    expect(JSON.parse(await readFile(config, 'utf8'))).toEqual({ auths: {} });
  });

  it('resumes a pull killed mid-blob from the bytes on disk', async () => {
    const root = await tempDir();
    const big = image.layers[1]!;
    const name = `${proxy.host}/cli/app:v1`;
    proxy.clear();
    proxy.inject(new RegExp(`/blobs/${big.digest}`), { kind: 'stall', after: 400_000 }, 1);
    const child = spawn(process.execPath, [STRATA_BIN, '--root', root, 'pull', name], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let offset = 0;
    for (let i = 0; i < 300 && offset < 400_000; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const s = await openStrata({ root });
      offset = (await s.content.status(big.digest).catch(() => ({ offset: 0 }))).offset;
      s.close();
    }
    expect(offset).toBe(400_000);
    child.kill('SIGKILL');
    await exited;
    proxy.clear();
    const again = await strata(['pull', name], { root, env });
    expect(again.code).toBe(0);
    const ranges = proxy.requests.filter((r) => r.path.includes(big.digest)).map((r) => r.range);
    expect(ranges).toEqual(['bytes=400000-']);
    const layer = await strata(['content', 'get', big.digest], { root, env });
    expect(layer.bytes.equals(big.bytes)).toBe(true);
    expect((await strata(['content', 'active', '--json'], { root, env })).stdout.trim()).toBe('[]');
  });
});

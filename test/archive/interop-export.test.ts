/**
 * Archives strata exports, read by other tools: `skopeo inspect` and `skopeo copy` (OCI
 * archive, docker archive, OCI layout directory, the archive written to stdout), umoci, and
 * `ctr images import` into a containerd started here; and containerd's own exports imported
 * by strata. Digests must survive every hop.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { STRATA_BIN, strata } from '../fixtures/cli.js';
import { startContainerd, type TestContainerd } from '../fixtures/containerd.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import {
  buildImage,
  buildIndex,
  pushImage,
  type TestImage,
  type TestIndex,
} from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';

const reason =
  missing({ commands: [REGISTRY_BIN, 'skopeo', 'umoci'] }) ??
  (existsSync(STRATA_BIN) ? undefined : 'CLI not built');
const ctrReason = missing({ root: true, commands: ['containerd', 'ctr'] });

const dir = await tempDir('strata-interop-export-');
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function skopeo(args: readonly string[]): string {
  return execFileSync('skopeo', ['--insecure-policy', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The digest of the raw manifest (or index) skopeo reads at `ref`. */
const rawDigest = (ref: string, flags: readonly string[] = []) =>
  sha256(skopeo(['inspect', ...flags, '--raw', ref]));

async function ok(args: readonly string[], root: string) {
  const r = await strata(args, { root });
  expect(r.code, `strata ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

describe.skipIf(reason)(
  `archives strata exports, read by skopeo and umoci${skipNote(reason)}`,
  () => {
    let registry: TestRegistry;
    let image: TestImage;
    let docker: TestImage;
    let multi: TestIndex;
    let root: string;
    const name = (repo: string, tag = repo === 'export/docker' ? 'd1' : 'v1') =>
      `${registry.host}/${repo}:${tag}`;

    beforeAll(async () => {
      registry = await startRegistry();
      image = await buildImage({
        layers: [
          { files: { 'etc/os-release': 'ID=export\n' } },
          { files: { 'app/data': 'x' }, randomKiB: 256 },
        ],
      });
      docker = await buildImage({ docker: true, layers: [{ files: { 'docker-made': 'yes' } }] });
      multi = buildIndex([
        await buildImage({ layers: [{ files: { arch: 'amd64' } }] }),
        await buildImage({
          platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
          layers: [{ files: { arch: 'arm64' } }],
        }),
      ]);
      await pushImage(registry.url, 'export/app', 'v1', image);
      await pushImage(registry.url, 'export/docker', 'd1', docker);
      await pushImage(registry.url, 'export/multi', 'v1', multi);
      root = join(dir, 'root');
      await ok(['pull', name('export/app')], root);
      await ok(['pull', name('export/docker')], root);
      await ok(['pull', '--all-platforms', name('export/multi')], root);
    });

    it('oci (default): skopeo inspects it and copies it to a registry with the same digest', async () => {
      const tar = join(dir, 'app.tar');
      const r = await ok(['export', tar, name('export/app')], root);
      expect(r.stdout).toContain(`${name('export/app')}: ${image.manifest.digest}`);
      expect(rawDigest(`oci-archive:${tar}:v1`)).toBe(image.manifest.digest);
      const inspected = JSON.parse(skopeo(['inspect', `oci-archive:${tar}:v1`])) as {
        Layers: string[];
      };
      expect(inspected.Layers).toEqual(image.layers.map((l) => l.digest));
      skopeo([
        'copy',
        '--dest-tls-verify=false',
        `oci-archive:${tar}:v1`,
        `docker://${registry.host}/copied/app:v1`,
      ]);
      expect(rawDigest(`docker://${registry.host}/copied/app:v1`, ['--tls-verify=false'])).toBe(
        image.manifest.digest,
      );
    });

    it('oci: the docker manifest.json inside names the same config and layers', async () => {
      const tar = join(dir, 'app.tar');
      const listing = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }).split('\n');
      expect(listing.slice(0, 3)).toEqual(['oci-layout', 'index.json', 'manifest.json']);
      const manifest = JSON.parse(
        execFileSync('tar', ['-xOf', tar, 'manifest.json'], { encoding: 'utf8' }),
      ) as { Config: string; RepoTags: string[]; Layers: string[] }[];
      expect(manifest).toEqual([
        {
          Config: `blobs/sha256/${image.config.digest.slice(7)}`,
          RepoTags: [name('export/app')],
          Layers: image.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
        },
      ]);
      const index = JSON.parse(
        execFileSync('tar', ['-xOf', tar, 'index.json'], { encoding: 'utf8' }),
      ) as { manifests: { digest: string; annotations: Record<string, string> }[] };
      expect(index.manifests).toEqual([
        expect.objectContaining({
          digest: image.manifest.digest,
          annotations: {
            'io.containerd.image.name': name('export/app'),
            'org.opencontainers.image.ref.name': 'v1',
          },
        }),
      ]);
    });

    it('--format docker: skopeo reads the docker archive (uncompressed layers, same config)', async () => {
      const tar = join(dir, 'app-docker.tar');
      await ok(['export', '--format', 'docker', tar, name('export/app')], root);
      const inspected = JSON.parse(skopeo(['inspect', `docker-archive:${tar}`])) as {
        Layers: string[];
        Digest: string;
      };
      expect(inspected.Layers).toEqual(image.diffIds);
      const rawConfig = execFileSync(
        'skopeo',
        ['--insecure-policy', 'inspect', '--config', '--raw', `docker-archive:${tar}`],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      expect(sha256(rawConfig)).toBe(image.config.digest);
      // skopeo copies it into a registry (compressing the layers): the config is unchanged
      skopeo([
        'copy',
        '--dest-tls-verify=false',
        `docker-archive:${tar}`,
        `docker://${registry.host}/copied/docker:v1`,
      ]);
      const pushedConfig = execFileSync(
        'skopeo',
        [
          '--insecure-policy',
          'inspect',
          '--tls-verify=false',
          '--config',
          '--raw',
          `docker://${registry.host}/copied/docker:v1`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      expect(sha256(pushedConfig)).toBe(image.config.digest);
      // and strata reads it back: the layers are the diffIDs, the config is the same
      const back = join(dir, 'root-docker-back');
      const r = await ok(['--json', 'import', tar, '--unpack'], back);
      const [got] = JSON.parse(r.stdout) as { name: string; chainId: string }[];
      expect(got!.name).toBe(name('export/app'));
      expect(got!.chainId).toMatch(/^sha256:/);
    });

    it('- writes the archive to stdout', async () => {
      const r = await strata(['export', '-', name('export/app')], { root });
      expect(r.code, r.stderr).toBe(0);
      const tar = join(dir, 'stdout.tar');
      await writeFile(tar, r.bytes);
      expect(rawDigest(`oci-archive:${tar}:v1`)).toBe(image.manifest.digest);
      // the same bytes as the file export: exports are reproducible
      expect(sha256(r.bytes)).toBe(sha256(await readFile(join(dir, 'app.tar'))));
    });

    it('a directory receives an OCI layout that skopeo and umoci read', async () => {
      const layout = join(dir, 'layout');
      await mkdir(layout);
      await ok(['export', layout, name('export/app'), name('export/docker')], root);
      // containerd's convention: the OCI ref name is the tag, the full name in its own
      // annotation. (skopeo 1.9 looks only at OCI-typed entries of index.json, so the
      // docker-typed manifest is checked through strata itself below.)
      expect(rawDigest(`oci:${layout}:v1`)).toBe(image.manifest.digest);
      const back = join(dir, 'root-layout-back');
      const imported = await ok(['--json', 'import', layout], back);
      const names = (JSON.parse(imported.stdout) as { name: string; target: { digest: string } }[])
        .map((i) => [i.name, i.target.digest])
        .sort();
      expect(names).toEqual(
        [
          [name('export/app'), image.manifest.digest],
          [name('export/docker'), docker.manifest.digest],
        ].sort(),
      );
      const copy = join(dir, 'layout-copy');
      skopeo(['copy', `oci:${layout}:v1`, `oci:${copy}:again`]);
      expect(rawDigest(`oci:${copy}:again`)).toBe(image.manifest.digest);
      const ls = execFileSync('umoci', ['ls', '--layout', layout], { encoding: 'utf8' });
      expect(ls.split('\n')).toContain('v1');
      // exporting again into the same directory adds nothing and keeps one entry per name
      await ok(['export', layout, name('export/app')], root);
      const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
        manifests: unknown[];
      };
      expect(index.manifests).toHaveLength(2);
    });

    it('--all-platforms keeps the index and every platform; --platform keeps the index, one platform', async () => {
      const all = join(dir, 'multi-all.tar');
      await ok(['export', '--all-platforms', all, name('export/multi')], root);
      expect(rawDigest(`oci-archive:${all}:v1`)).toBe(multi.index.digest);
      for (const [i, arch] of ['amd64', 'arm64'].entries()) {
        // skopeo picks the platform's manifest out of the index and copies it unchanged
        const copy = join(dir, `multi-${arch}`);
        skopeo(['--override-arch', arch, 'copy', `oci-archive:${all}:v1`, `oci:${copy}:x`]);
        expect(rawDigest(`oci:${copy}:x`)).toBe(multi.images[i]!.manifest.digest);
      }
      const one = join(dir, 'multi-arm.tar');
      await ok(['export', '--platform', 'linux/arm64', one, name('export/multi')], root);
      expect(rawDigest(`oci-archive:${one}:v1`)).toBe(multi.index.digest);
      const copy = join(dir, 'multi-arm-copy');
      skopeo(['--override-arch', 'arm64', 'copy', `oci-archive:${one}:v1`, `oci:${copy}:x`]);
      expect(rawDigest(`oci:${copy}:x`)).toBe(multi.images[1]!.manifest.digest);
      const listing = execFileSync('tar', ['-tf', one], { encoding: 'utf8' });
      expect(listing).not.toContain(multi.images[0]!.layers[0]!.digest.slice(7));
    });

    it('progress: plain lines, and JSON events with --json', async () => {
      const plain = await ok(['export', join(dir, 'progress.tar'), name('export/app')], root);
      expect(plain.stderr).toContain(`${image.layers[1]!.digest.slice(7, 19)}: exporting blob`);
      expect(plain.stderr).toContain(`${image.layers[1]!.digest.slice(7, 19)}: done blob`);
      const json = await ok(
        ['--json', 'export', join(dir, 'progress2.tar'), name('export/app')],
        root,
      );
      const events = json.stderr
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { progress: { phase: string; id: string } }).progress);
      expect(events).toContainEqual(
        expect.objectContaining({ phase: 'done', id: image.layers[1]!.digest }),
      );
      expect(JSON.parse(json.stdout)).toMatchObject({
        format: 'oci',
        images: [{ name: name('export/app'), digest: image.manifest.digest }],
        blobs: 4,
      });
    });

    it('- onto a full disk: one line naming stdout, exit 1', () => {
      const r = spawnSync(
        'sh',
        [
          '-c',
          `"${process.execPath}" "${STRATA_BIN}" --root "${root}" export - "${name('export/app')}" > /dev/full`,
        ],
        { encoding: 'utf8' },
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /\nstrata: stdout: no space left on device\n$|^strata: stdout: no space left on device\n$/,
      );
      expect(r.stderr).not.toContain('    at ');
    });

    it('an unknown image: a clear error, no file left', async () => {
      const tar = join(dir, 'none.tar');
      const r = await strata(['export', tar, 'example.com/nothing:here'], { root });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^strata: .*example\.com\/nothing:here.*not found/m);
      expect(existsSync(tar)).toBe(false);
    });

    describe.skipIf(ctrReason)(`with containerd${skipNote(ctrReason)}`, () => {
      let containerd: TestContainerd;

      beforeAll(async () => {
        containerd = await startContainerd();
      });

      const listed = async () => {
        const ls = await containerd.ctr(['images', 'ls']);
        expect(ls.code, ls.stderr).toBe(0);
        return ls.stdout;
      };

      it('ctr images import reads the OCI archive: the name and digest show in ctr images ls', async () => {
        const r = await containerd.ctr(['images', 'import', join(dir, 'app.tar')]);
        expect(r.code, r.stderr).toBe(0);
        expect(await listed()).toMatch(
          new RegExp(`${name('export/app')}\\s+\\S+\\s+${image.manifest.digest}`),
        );
      });

      it('ctr images import reads the docker archive (same config, same layers)', async () => {
        const tar = join(dir, 'docker-docker.tar');
        await ok(['export', '--format', 'docker', tar, name('export/docker')], root);
        const r = await containerd.ctr(['images', 'import', tar]);
        expect(r.code, r.stderr).toBe(0);
        expect(await listed()).toContain(name('export/docker'));
        // containerd builds the same manifest strata builds for a docker-save entry
        const back = join(dir, 'root-ctr-docker');
        const imported = await ok(['--json', 'import', tar], back);
        const [got] = JSON.parse(imported.stdout) as { target: { digest: string } }[];
        expect(await listed()).toMatch(
          new RegExp(`${name('export/docker')}\\s+\\S+\\s+${got!.target.digest}`),
        );
      });

      it('ctr images import --all-platforms reads a multi-platform export', async () => {
        const r = await containerd.ctr([
          'images',
          'import',
          '--all-platforms',
          join(dir, 'multi-all.tar'),
        ]);
        expect(r.code, r.stderr).toBe(0);
        expect(await listed()).toMatch(
          new RegExp(`${name('export/multi')}\\s+\\S+\\s+${multi.index.digest}`),
        );
      });

      it('strata imports what ctr images export writes, with its digests', async () => {
        const pulled = await containerd.ctr([
          'images',
          'pull',
          '--plain-http',
          '--all-platforms',
          name('export/multi'),
        ]);
        expect(pulled.code, pulled.stderr).toBe(0);
        const tar = join(dir, 'ctr-export.tar');
        const exported = await containerd.ctr([
          'images',
          'export',
          '--all-platforms',
          tar,
          name('export/multi'),
        ]);
        expect(exported.code, exported.stderr).toBe(0);
        const back = join(dir, 'root-from-ctr');
        const r = await ok(['--json', 'import', '--all-platforms', tar], back);
        const [got] = JSON.parse(r.stdout) as { name: string; target: { digest: string } }[];
        expect(got).toMatchObject({
          name: name('export/multi'),
          target: { digest: multi.index.digest },
        });
      });
    });
  },
);

#!/usr/bin/env node
// The newcomer's main job, offline: start Debian's docker-registry on 127.0.0.1, push an
// image made on the spot from a real tree (npm's own package directory, packed by GNU tar),
// then `strata pull` it into the default root (/var/lib/strata as root) and show the result.
// Usage: npm run demo            (builds strata first)
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const strata = join(here, '..', 'dist', 'src', 'cli', 'main.js');
const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const have = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

if (!have('docker-registry')) {
  if (process.getuid() !== 0) throw new Error('demo: docker-registry is missing; run as root or apt-get install docker-registry');
  console.log('demo: installing docker-registry (Debian package)');
  execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null'], { stdio: 'inherit' });
}

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'strata-demo-'));
writeFileSync(
  join(dir, 'config.yml'),
  `version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: ${dir}/data } }\nhttp: { addr: 127.0.0.1:${port} }\n`,
);
const registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
const base = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/v2/`)).ok) break;
    } catch {}
    if (i > 100) throw new Error('demo: the registry did not start');
    await new Promise((r) => setTimeout(r, 100));
  }

  // One layer from a real tree: npm's own package directory.
  const npmDir = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  const tar = execFileSync('tar', ['--numeric-owner', '-C', npmDir, '-cf', '-', '.'], { maxBuffer: 1 << 30 });
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [sha(tar)] },
    }),
  );
  const push = async (bytes) => {
    const start = await fetch(`${base}/v2/demo/npm/blobs/uploads/`, { method: 'POST' });
    const location = new URL(start.headers.get('location'), base);
    location.searchParams.set('digest', sha(bytes));
    const put = await fetch(location, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    if (!put.ok) throw new Error(`demo: blob upload failed: ${put.status}`);
  };
  await push(layer);
  await push(config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
  });
  const put = await fetch(`${base}/v2/demo/npm/manifests/latest`, {
    method: 'PUT',
    body: manifest,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (!put.ok) throw new Error(`demo: manifest upload failed: ${put.status}`);

  const ref = `127.0.0.1:${port}/demo/npm:latest`;
  const run = (...args) => execFileSync(process.execPath, [strata, ...args], { stdio: 'inherit' });
  console.log(`\n$ strata pull ${ref}`);
  run('pull', ref);
  console.log('\n$ strata images ls');
  run('images', 'ls');
  console.log('\n$ strata snapshots ls');
  run('snapshots', 'ls');
  if (process.getuid() === 0) {
    const mnt = join(dir, 'rootfs');
    execFileSync('mkdir', [mnt]);
    console.log(`\n$ strata images mount ${ref} ${mnt} && ls ${mnt}`);
    run('images', 'mount', ref, mnt);
    console.log(execFileSync('ls', [mnt], { encoding: 'utf8' }).trim().split('\n').join('  '));
    console.log(`\n$ strata images unmount ${mnt}`);
    run('images', 'unmount', mnt);
  }
} finally {
  registry.kill();
  rmSync(dir, { recursive: true, force: true });
}

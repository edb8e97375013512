import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { removeTree, scratch } from './env.js';

/**
 * The bench's own registry: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 and
 * a free port, storage in a scratch dir (on tmpfs, so serving is not what is measured),
 * and the images pushed to it over the distribution API: from the lab's OCI layout
 * (`../shared/lab/build-images.sh`), from generated layers, or from real trees of this
 * machine when the lab layout is missing.
 */

export const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

export interface BenchRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRegistry(base: string): Promise<BenchRegistry> {
  const dir = await scratch(base, 'registry');
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: { level: error, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${dir}/data } }`,
      `http: { addr: 127.0.0.1:${port}, secret: strata-bench }`,
      '',
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (c: Buffer) => {
    log = (log + c.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await removeTree(dir);
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`bench: docker-registry exited: ${log}`);
    try {
      if ((await fetch(`${url}/v2/`)).ok) break;
    } catch {}
    if (i > 100) {
      await stop();
      throw new Error(`bench: docker-registry did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host: `127.0.0.1:${port}`, url, stop };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A blob to push: its bytes, or a file holding them. */
export interface PushBlob {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly bytes?: Buffer;
  readonly path?: string;
}

export interface PushImage {
  readonly manifest: PushBlob & { readonly bytes: Buffer };
  readonly config: PushBlob;
  readonly layers: readonly PushBlob[];
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function blob(mediaType: string, bytes: Buffer): PushBlob & { bytes: Buffer } {
  return { mediaType, digest: sha256(bytes), size: bytes.length, bytes };
}

/** Blobs by monolithic upload (skipped when present), then the manifest by tag. */
export async function pushImage(url: string, repo: string, tag: string, image: PushImage) {
  for (const b of [image.config, ...image.layers]) {
    const head = await fetch(`${url}/v2/${repo}/blobs/${b.digest}`, { method: 'HEAD' });
    if (head.ok) continue;
    const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location');
    if (start.status !== 202 || !location) throw new Error(`bench: upload start: ${start.status}`);
    const put = new URL(location, url);
    put.searchParams.set('digest', b.digest);
    const body = b.bytes ?? (await readFile(b.path!));
    const res = await fetch(put, {
      method: 'PUT',
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    if (res.status !== 201) throw new Error(`bench: blob ${b.digest}: upload ${res.status}`);
  }
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    body: image.manifest.bytes,
    headers: { 'content-type': image.manifest.mediaType },
  });
  if (res.status !== 201) throw new Error(`bench: manifest ${repo}:${tag}: ${res.status}`);
}

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

export interface LabImage {
  readonly name: string;
  readonly manifest: { readonly config: Descriptor; readonly layers: readonly Descriptor[] };
  readonly image: PushImage;
  blobPath(digest: string): string;
}

/** An image of the lab's OCI layout by its ref name, or undefined when absent. */
export async function labLayout(dir: string, name: string): Promise<LabImage | undefined> {
  if (!existsSync(join(dir, 'index.json'))) return undefined;
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests: (Descriptor & { annotations?: Record<string, string> })[];
  };
  const desc = index.manifests.find(
    (m) => m.annotations?.['org.opencontainers.image.ref.name'] === name,
  );
  if (!desc) return undefined;
  const blobPath = (digest: string) => join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const bytes = await readFile(blobPath(desc.digest));
  const manifest = JSON.parse(bytes.toString('utf8')) as LabImage['manifest'];
  const withPath = (d: Descriptor): PushBlob => ({ ...d, path: blobPath(d.digest) });
  return {
    name,
    manifest,
    blobPath,
    image: {
      manifest: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, bytes },
      config: withPath(manifest.config),
      layers: manifest.layers.map(withPath),
    },
  };
}

/** An image whose layers are the given tars (gzip-compressed). */
export function imageOf(layers: readonly { tar: Buffer; gz: Buffer }[]): PushImage {
  const blobs = layers.map((l) => blob(LAYER_GZIP, l.gz));
  const config = blob(
    OCI_CONFIG,
    Buffer.from(
      JSON.stringify({
        architecture:
          process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : process.arch,
        os: 'linux',
        config: { Cmd: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l.tar)) },
      }),
    ),
  );
  const strip = ({ mediaType, digest, size }: PushBlob) => ({ mediaType, digest, size });
  const manifest = blob(
    OCI_MANIFEST,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: strip(config),
        layers: blobs.map(strip),
      }),
    ),
  );
  return { manifest, config, layers: blobs };
}

/**
 * An image from real trees of this machine, for when the lab layout is missing: node's
 * own npm package (a real npm tree) and /usr/share/doc, packed by GNU tar.
 */
export async function treeImage(): Promise<PushImage> {
  const trees = ['usr/lib/node_modules/npm', 'usr/share/doc'].filter((t) => existsSync(`/${t}`));
  const layers = [];
  for (const t of trees) {
    const tar = execFileSync('tar', ['--numeric-owner', '-C', '/', '-cf', '-', t], {
      maxBuffer: 2 ** 31,
    });
    layers.push({ tar, gz: await promisify(gzip)(tar, { level: 6 }) });
  }
  return imageOf(layers);
}

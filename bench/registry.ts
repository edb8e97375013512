import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, removeTree, scratch, stopProcess } from '../src/bench/index.js';

/**
 * The bench's own registry: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 and
 * a free port, storage in a scratch dir (on tmpfs, so serving is not what is measured),
 * and images pushed to it over the distribution API (images.ts makes them).
 */

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
    await stopProcess(child, 3000);
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

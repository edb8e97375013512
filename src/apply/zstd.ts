import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Duplex, type Readable, Transform, type Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { fail } from '../errors.js';

/**
 * Where zstd decompression comes from, fastest first:
 * - `zlib`: node:zlib's `createZstdDecompress` (Node >= 22.15);
 * - `cli`: the `zstd -dc` command in a child process (about 1.2 GB/s here, and on another core);
 * - `js`: fzstd, pure JavaScript (about 200 MB/s), always available.
 */
export type ZstdImplementation = 'zlib' | 'cli' | 'js';

type ZstdFactory = (options?: { chunkSize?: number }) => Transform;

const zlibZstd = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;

let cliPath: string | null | undefined;

/** The `zstd` executable on PATH, or undefined; looked up once. */
function zstdCli(): string | undefined {
  if (cliPath === undefined) cliPath = findOnPath('zstd') ?? null;
  return cliPath ?? undefined;
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** The implementations usable in this process, fastest first. */
export function zstdImplementations(): ZstdImplementation[] {
  const found: ZstdImplementation[] = [];
  if (zlibZstd) found.push('zlib');
  if (zstdCli()) found.push('cli');
  found.push('js');
  return found;
}

/**
 * A Duplex that takes zstd frames and gives the decompressed bytes. Corrupt or truncated
 * input fails the stream with `InvalidArgument`.
 * @throws FailedPrecondition when the requested implementation is not available here.
 */
export function createZstdDecompressor(
  implementation: ZstdImplementation = zstdImplementations()[0] ?? 'js',
): Duplex {
  switch (implementation) {
    case 'zlib': {
      if (!zlibZstd) throw fail('FailedPrecondition', 'zstd: node:zlib has no zstd here');
      return zlibZstd({ chunkSize: 1024 * 1024 });
    }
    case 'cli': {
      const path = zstdCli();
      if (!path) throw fail('FailedPrecondition', 'zstd: the zstd command is not on PATH');
      return new ZstdProcess(path);
    }
    case 'js':
      return fzstdTransform();
  }
}

function fzstdTransform(): Transform {
  let decoder: Decompress;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        decoder.push(chunk);
        callback();
      } catch (err) {
        callback(corrupt(err));
      }
    },
    flush(callback) {
      try {
        decoder.push(new Uint8Array(0), true);
        callback();
      } catch (err) {
        callback(corrupt(err));
      }
    },
  });
  decoder = new Decompress((data) => {
    if (data.length > 0) transform.push(data);
  });
  return transform;
}

function corrupt(err: unknown) {
  const why = err instanceof Error ? err.message : String(err);
  return fail('InvalidArgument', `zstd: ${why}`, err);
}

const STDERR_CAP = 4096;

/**
 * `zstd -dcq` as a Duplex. The readable side ends only after the process exits with 0, so
 * a corrupt or truncated stream is an error, never a silently short one.
 */
class ZstdProcess extends Duplex {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private stderr = '';
  private exited = false;
  private waitingDrain: (() => void) | undefined;

  constructor(path: string) {
    super({ readableHighWaterMark: 8 * 1024 * 1024 });
    this.child = spawn(path, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const { child } = this;
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < STDERR_CAP) this.stderr += chunk.toString('utf8');
    });
    // EPIPE when zstd quits early: its exit status tells what went wrong.
    child.stdin.on('error', () => {});
    child.on('error', (err) => this.destroy(err));
    child.on('close', (code, signal) => this.onClose(code, signal));
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    this.releaseDrain();
    if (this.destroyed) return;
    if (code === 0) {
      this.push(null);
      return;
    }
    const why = this.stderr.trim().split('\n').pop() || `exited with ${code ?? signal}`;
    this.destroy(fail('InvalidArgument', `zstd: ${why}`));
  }

  private releaseDrain(): void {
    const resume = this.waitingDrain;
    this.waitingDrain = undefined;
    resume?.();
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error) => void) {
    if (this.exited || this.child.stdin.write(chunk)) {
      callback();
      return;
    }
    this.waitingDrain = () => callback();
    this.child.stdin.once('drain', () => this.releaseDrain());
  }

  override _final(callback: (err?: Error) => void): void {
    this.child.stdin.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (!this.exited) this.child.kill('SIGKILL');
    this.releaseDrain();
    callback(err);
  }
}

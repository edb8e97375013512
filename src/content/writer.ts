import { createHash, type Hash, randomBytes } from 'node:crypto';
import { createReadStream, constants as fsConstants, writeSync } from 'node:fs';
import { chmod, type FileHandle, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errno, fail, fromSystem } from '../errors.js';
import type { Digest } from '../oci/index.js';
import { shortDigest } from '../oci/index.js';
import { tryLock } from '../sys/index.js';
import { readOptional, syncDir } from './fsutil.js';
import type { CommitOptions, ScopedStatus, Status, Writer } from './types.js';

/** Where an ingest lives and where its blob goes once committed. */
export interface IngestPaths {
  /** `<root>/content/ingest/<sha256(ref)>` */
  readonly dir: string;
  /** `<root>/content/blobs/sha256` */
  readonly blobsDir: string;
  blobPath(digest: Digest): string;
}

/**
 * Locks an ingest directory: an exclusive flock on `<dir>/lock`, checked against the path
 * after locking (a committer or an abort may remove the dir between our open and flock).
 * With `create`, a missing dir is made; without, a missing dir gives 'gone'.
 * Returns the lock's handle, 'busy' when another writer holds it, or 'gone'.
 */
export async function lockIngest(
  dir: string,
  options: { create: boolean },
): Promise<FileHandle | 'busy' | 'gone'> {
  const lockPath = join(dir, 'lock');
  for (;;) {
    // A concurrent discard (renamed aside) can make mkdir -p see the dir, then not find it.
    if (options.create && !(await mkdir(dir, { recursive: true }).then(ok, enoent))) continue;
    let handle: FileHandle;
    try {
      handle = await open(lockPath, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
      if (!options.create) return 'gone';
      continue;
    }
    if (!tryLock(handle.fd)) {
      await handle.close();
      return 'busy';
    }
    const [held, now] = await Promise.all([handle.stat(), stat(lockPath).catch(() => undefined)]);
    if (now !== undefined && now.ino === held.ino) return handle;
    await handle.close();
    if (!options.create && now === undefined) return 'gone';
  }
}

export async function readStatus(dir: string): Promise<ScopedStatus | undefined> {
  const ref = await readOptional(join(dir, 'ref'));
  if (ref === undefined) return undefined;
  const [total, expected, startedAt, scope] = await Promise.all(
    ['total', 'expected', 'startedat', 'scope'].map((f) => readOptional(join(dir, f))),
  );
  const data = await stat(join(dir, 'data')).catch(() => undefined);
  const started = startedAt === undefined ? (data?.birthtime ?? new Date()) : new Date(startedAt);
  return {
    ref,
    scope: scope ?? '',
    offset: data?.size ?? 0,
    ...(total === undefined ? {} : { total: Number(total) }),
    ...(expected === undefined ? {} : { expected: expected as Digest }),
    startedAt: started,
    updatedAt: data?.mtime ?? started,
  };
}

export interface OpenWriterOptions {
  readonly ref: string;
  readonly scope: string;
  readonly paths: IngestPaths;
  readonly lock: FileHandle;
  readonly total?: number;
  readonly expected?: Digest;
}

/** Opens the ingest whose lock the caller holds, resuming from the bytes on disk. */
export async function openIngestWriter(options: OpenWriterOptions): Promise<Writer> {
  const { ref, paths, lock } = options;
  const existing = await readOptional(join(paths.dir, 'ref'));
  if (existing !== undefined && existing !== ref) {
    throw fail('Internal', `ingest ${ref}: directory holds ref ${existing}`);
  }
  if (existing === undefined) {
    await writeFile(join(paths.dir, 'startedat'), new Date().toISOString());
    await writeFile(join(paths.dir, 'scope'), options.scope);
    await writeFile(join(paths.dir, 'ref'), ref);
  }
  if (options.total !== undefined) await writeFile(join(paths.dir, 'total'), String(options.total));
  if (options.expected !== undefined)
    await writeFile(join(paths.dir, 'expected'), options.expected);
  const dataPath = join(paths.dir, 'data');
  const data = await open(dataPath, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644);
  const writer = new IngestWriter(ref, paths, lock, data, dataPath);
  await writer.truncate((await data.stat()).size);
  return writer;
}

class IngestWriter implements Writer {
  private hash: Hash = createHash('sha256');
  private written = 0;
  private closed = false;

  constructor(
    readonly ref: string,
    private readonly paths: IngestPaths,
    private readonly lock: FileHandle,
    private readonly data: FileHandle,
    private readonly dataPath: string,
  ) {}

  get offset(): number {
    return this.written;
  }

  /**
   * Writes synchronously: a write into the page cache takes microseconds, while a round
   * trip through the threadpool per network chunk made downloads latency-bound (measured:
   * docs/BENCHMARKS.md). Durability comes from the fsync in commit.
   */
  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    let done = 0;
    try {
      while (done < chunk.byteLength) {
        done += writeSync(this.data.fd, chunk, done, chunk.byteLength - done, this.written + done);
      }
    } catch (err) {
      throw fromSystem(err, `ingest ${this.ref}`);
    }
    this.hash.update(chunk);
    this.written += chunk.byteLength;
  }

  digest(): Digest {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }

  async truncate(size: number): Promise<void> {
    this.assertOpen();
    const onDisk = (await this.data.stat()).size;
    if (size < 0 || size > onDisk) {
      throw fail('InvalidArgument', `ingest ${this.ref}: cannot truncate to ${size} of ${onDisk}`);
    }
    if (size < onDisk) await this.data.truncate(size);
    this.hash = createHash('sha256');
    this.written = 0;
    if (size === 0) return;
    for await (const chunk of createReadStream(this.dataPath, { start: 0, end: size - 1 })) {
      this.hash.update(chunk as Buffer);
      this.written += (chunk as Buffer).byteLength;
    }
  }

  async commit(options: CommitOptions = {}): Promise<Digest> {
    this.assertOpen();
    if (options.size !== undefined && options.size !== this.written) {
      throw fail(
        'FailedPrecondition',
        `ingest ${this.ref}: unexpected commit size ${this.written}, expected ${options.size}`,
      );
    }
    const digest = this.digest();
    if (options.expected !== undefined && options.expected !== digest) {
      throw fail(
        'FailedPrecondition',
        `ingest ${this.ref}: unexpected commit digest ${digest}, expected ${options.expected}`,
      );
    }
    const target = this.paths.blobPath(digest);
    let remove = false;
    try {
      await this.data.sync();
      await this.data.close();
      this.closed = true;
      if (await exists(target)) {
        remove = true;
        throw fail('AlreadyExists', `content ${shortDigest(digest)}: already exists`);
      }
      await chmod(this.dataPath, 0o444);
      await rename(this.dataPath, target);
      remove = true;
      await syncDir(this.paths.blobsDir);
      return digest;
    } catch (err) {
      throw fromSystem(err, `ingest ${this.ref}: commit`);
    } finally {
      // A failure before the rename keeps the bytes: the ingest stays resumable.
      if (this.closed) await this.release({ remove });
    }
  }

  async status(): Promise<Status> {
    const status = await readStatus(this.paths.dir);
    if (!status) throw fail('NotFound', `ingest ${this.ref}: not found`);
    return { ...status, offset: this.written };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.data.close();
    await this.release({ remove: false });
  }

  private async release(options: { remove: boolean }): Promise<void> {
    // Removed while still holding the lock, so no other writer can take it over meanwhile.
    if (options.remove) await discardIngestDir(this.paths.dir);
    await this.lock.close().catch(() => {});
  }

  private assertOpen(): void {
    if (this.closed) throw fail('FailedPrecondition', `ingest ${this.ref}: writer is closed`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errno(err) === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Deletes an ingest directory whose lock the caller holds: first renamed aside (a writer
 * that opened the lock path meanwhile then finds it gone and starts afresh, instead of
 * creating files in a directory being deleted), then removed. Never fails: leftovers are
 * hidden (`.` names) and swept later.
 */
export async function discardIngestDir(dir: string): Promise<void> {
  const aside = join(dirname(dir), `.rm-${basename(dir)}-${randomBytes(4).toString('hex')}`);
  try {
    await rename(dir, aside);
  } catch {
    return; // gone already
  }
  await rm(aside, { recursive: true, force: true }).catch(() => {});
}

const ok = () => true;
const enoent = (err: unknown) => {
  if (errno(err) === 'ENOENT') return false;
  throw err;
};

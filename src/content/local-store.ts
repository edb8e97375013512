import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { abortError, fail, fromSystem, throwIfAborted } from '../errors.js';
import { type Digest, digestHex, isDigest, parseDigest, shortDigest } from '../oci/index.js';
import type { Provider, ReaderOptions, ScopedStatus, Writer, WriterOptions } from './types.js';
import {
  discardIngestDir,
  type IngestPaths,
  lockIngest,
  openIngestWriter,
  readStatus,
} from './writer.js';

/** A committed blob as the disk knows it (labels live in the metadata database). */
export interface BlobInfo {
  readonly digest: Digest;
  readonly size: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/**
 * The bytes on disk: blobs shared by every namespace plus the in-flight ingests, each
 * keyed by a scope (the namespace; '' for none) and a ref. The namespaced, labelled view
 * is the metadata content store built on top of it.
 */
export interface BlobStore {
  /** @throws Unavailable when another writer holds the ingest; AlreadyExists (see WriterOptions). */
  writer(options: WriterOptions & { readonly scope?: string }): Promise<Writer>;
  /** @throws NotFound */
  status(ref: string, scope?: string): Promise<ScopedStatus>;
  listStatuses(): Promise<ScopedStatus[]>;
  /** Removes an ingest and its bytes. @throws NotFound, Unavailable */
  abort(ref: string, scope?: string): Promise<void>;
  /** Removes an ingest unless a live writer holds it; quiet when there is none. */
  sweep(ref: string, scope?: string): Promise<void>;
  /** The directory this store lives in (`<root>/content`). */
  readonly dir: string;
  /** @throws NotFound, InvalidArgument */
  stat(digest: Digest): Promise<BlobInfo>;
  reader: Provider['reader'];
  /** Removes a committed blob. @throws NotFound */
  delete(digest: Digest): Promise<void>;
  /** Every committed blob. */
  list(): Promise<BlobInfo[]>;
  /** The path of a committed blob (for readers that need an fd, e.g. copy_file_range). */
  blobPath(digest: Digest): string;
}

/**
 * Opens the content directory at `dir` (`blobs/sha256/<hex>`, `ingest/<sha256(ref)>/`),
 * creating it if needed.
 */
export async function openBlobStore(dir: string): Promise<BlobStore> {
  const blobsDir = join(dir, 'blobs', 'sha256');
  const ingestDir = join(dir, 'ingest');
  await mkdir(blobsDir, { recursive: true });
  await mkdir(ingestDir, { recursive: true });

  const blobPath = (digest: Digest): string => {
    parseDigest(digest);
    if (!digest.startsWith('sha256:')) {
      throw fail('InvalidArgument', `content ${shortDigest(digest)}: only sha256 is stored`);
    }
    return join(blobsDir, digestHex(digest));
  };
  const ingestPath = (ref: string, scope = ''): string => {
    if (ref.length === 0) throw fail('InvalidArgument', 'ingest: empty ref');
    return join(ingestDir, createHash('sha256').update(`${scope}\0${ref}`).digest('hex'));
  };

  const statBlob = async (digest: Digest): Promise<BlobInfo> => {
    try {
      const st = await stat(blobPath(digest));
      return { digest, size: st.size, createdAt: st.birthtime, updatedAt: st.mtime };
    } catch (err) {
      throw fromSystem(err, `content ${digest}`);
    }
  };

  return {
    dir,
    blobPath,
    stat: statBlob,

    async reader(digest: Digest, options: ReaderOptions = {}): Promise<Readable> {
      const { size } = await statBlob(digest);
      const start = options.offset ?? 0;
      if (start < 0 || start > size) {
        throw fail('InvalidArgument', `content ${digest}: offset ${start} outside 0..${size}`);
      }
      const end = options.length === undefined ? size : Math.min(size, start + options.length);
      const stream =
        end === start
          ? Readable.from([])
          : createReadStream(blobPath(digest), { start, end: end - 1 });
      return abortable(stream, options.signal);
    },

    async delete(digest: Digest): Promise<void> {
      try {
        await unlink(blobPath(digest));
      } catch (err) {
        throw fromSystem(err, `content ${digest}`);
      }
    },

    async list(): Promise<BlobInfo[]> {
      const names = await readdir(blobsDir);
      const infos: BlobInfo[] = [];
      for (const hex of names) {
        const digest = `sha256:${hex}`;
        if (!isDigest(digest)) continue;
        try {
          infos.push(await statBlob(digest));
        } catch (err) {
          if ((err as { code?: string }).code !== 'NotFound') throw err;
        }
      }
      return infos;
    },

    async writer(options) {
      throwIfAborted(options.signal);
      if (options.expected !== undefined) {
        const stored = await statBlob(options.expected).catch(() => undefined);
        if (stored) {
          // A writer killed between its commit's rename and its cleanup left the ingest.
          await sweepIngest(ingestPath(options.ref, options.scope));
          throw fail('AlreadyExists', `content ${options.expected}: already exists`);
        }
      }
      const p: IngestPaths = { dir: ingestPath(options.ref, options.scope), blobsDir, blobPath };
      const lock = await lockIngest(p.dir, { create: true });
      if (lock === 'busy' || lock === 'gone') {
        throw fail('Unavailable', `ingest ${options.ref}: locked by another writer`);
      }
      // The writer we waited for may have committed the blob: nothing left to write.
      if (
        options.expected !== undefined &&
        (await statBlob(options.expected).catch(() => undefined))
      ) {
        await discardIngestDir(p.dir);
        await lock.close();
        throw fail('AlreadyExists', `content ${options.expected}: already exists`);
      }
      try {
        return await openIngestWriter({
          ref: options.ref,
          scope: options.scope ?? '',
          paths: p,
          lock,
          ...(options.total === undefined ? {} : { total: options.total }),
          ...(options.expected === undefined ? {} : { expected: options.expected }),
        });
      } catch (err) {
        await lock.close();
        throw fromSystem(err, `ingest ${options.ref}`);
      }
    },

    async status(ref, scope) {
      const status = await readStatus(ingestPath(ref, scope));
      if (!status) throw fail('NotFound', `ingest ${ref}: not found`);
      return status;
    },

    async listStatuses() {
      const statuses: ScopedStatus[] = [];
      for (const name of await readdir(ingestDir)) {
        if (name.startsWith('.')) continue; // being discarded
        const status = await readStatus(join(ingestDir, name)).catch(() => undefined);
        if (status) statuses.push(status);
      }
      return statuses;
    },

    sweep: (ref, scope) => sweepIngest(ingestPath(ref, scope)),

    async abort(ref, scope) {
      const dir = ingestPath(ref, scope);
      const status = await readStatus(dir);
      if (!status) throw fail('NotFound', `ingest ${ref}: not found`);
      const lock = await lockIngest(dir, { create: false });
      if (lock === 'gone') throw fail('NotFound', `ingest ${ref}: not found`);
      if (lock === 'busy') throw fail('Unavailable', `ingest ${ref}: locked by another writer`);
      try {
        await discardIngestDir(dir);
      } finally {
        await lock.close();
      }
    },
  };
}

/** Removes an ingest dir unless a live writer holds it. */
async function sweepIngest(dir: string): Promise<void> {
  const lock = await lockIngest(dir, { create: false });
  if (lock === 'busy' || lock === 'gone') return;
  try {
    await discardIngestDir(dir);
  } finally {
    await lock.close();
  }
}

/** Destroys `stream` with an Aborted error when `signal` fires (listener removed on close). */
function abortable(stream: Readable, signal: AbortSignal | undefined): Readable {
  if (!signal) return stream;
  const onAbort = () => stream.destroy(abortError(signal));
  if (signal.aborted) onAbort();
  else {
    signal.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return stream;
}

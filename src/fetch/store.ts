import type { Store, Writer } from '../content/index.js';
import { openWriter, writeBlob } from '../content/index.js';
import { isCode } from '../errors.js';
import { appendSource, distributionSourceKey } from '../labels.js';
import type { Descriptor } from '../oci/index.js';
import type { ProgressEvent } from '../progress.js';
import type { Repository } from '../registry/index.js';
import type { Limiter } from './limiter.js';
import type { LayerTap } from './types.js';

/**
 * Getting one blob into the content store: the ingest ref is the digest itself, so a pull
 * killed mid-blob and started again (by any process) resumes from the bytes on disk. The
 * bytes are verified by the registry client and again by the commit; a digest mismatch
 * discards the ingest, while a cut or an abort keeps it for the next run.
 */
export interface BlobContext {
  readonly content: Store;
  readonly repo: Repository;
  readonly limiter: Limiter;
  readonly signal: AbortSignal;
  readonly emit: (event: ProgressEvent) => void;
}

const PROGRESS_INTERVAL_MS = 100;

/** Fetches `desc` unless present, then labels it with its source and `labels`. */
export async function ensureBlob(
  ctx: BlobContext,
  desc: Descriptor,
  kind: string,
  labels: Record<string, string> = {},
  tap?: () => LayerTap | undefined,
): Promise<'fetched' | 'exists'> {
  const id = desc.digest;
  ctx.emit({ phase: 'waiting', id, kind, done: 0, total: desc.size });
  const outcome = await ctx.limiter.run(() => download(ctx, desc, kind, tap), ctx.signal);
  await addLabels(ctx, desc, labels);
  ctx.emit({
    phase: outcome === 'exists' ? 'exists' : 'done',
    id,
    kind,
    done: desc.size,
    total: desc.size,
  });
  return outcome;
}

async function download(
  ctx: BlobContext,
  desc: Descriptor,
  kind: string,
  tapFor?: () => LayerTap | undefined,
): Promise<'fetched' | 'exists'> {
  let writer: Writer;
  try {
    writer = await openWriter(ctx.content, {
      ref: desc.digest,
      expected: desc.digest,
      total: desc.size,
      signal: ctx.signal,
    });
  } catch (err) {
    if (isCode(err, 'AlreadyExists')) return 'exists';
    throw err;
  }
  // A resumed ingest holds bytes the tap never saw: it gets none, the blob is read later.
  const tap = writer.offset === 0 ? tapFor?.() : undefined;
  if (tap) writer = teeWriter(writer, tap);
  let last = 0;
  const report = (done: number) => {
    const now = Date.now();
    if (done < desc.size && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    ctx.emit({ phase: 'downloading', id: desc.digest, kind, done, total: desc.size });
  };
  try {
    await ctx.repo.fetchBlob(desc, writer, {
      signal: ctx.signal,
      onBytes: report,
      onRetry: (message) =>
        ctx.emit({
          phase: 'retrying',
          id: desc.digest,
          kind,
          done: writer.offset,
          total: desc.size,
          message,
        }),
    });
    let outcome: 'fetched' | 'exists' = 'fetched';
    await writer.commit({ size: desc.size, expected: desc.digest }).catch((err: unknown) => {
      if (!isCode(err, 'AlreadyExists')) throw err;
      outcome = 'exists'; // committed by another writer meanwhile: the same verified bytes
    });
    tap?.end();
    return outcome;
  } catch (err) {
    tap?.fail(err);
    if (isCode(err, 'AlreadyExists')) return 'exists';
    if (isCode(err, 'FailedPrecondition')) {
      // Wrong bytes are worth nothing: do not leave them to be resumed from.
      await writer.close();
      await ctx.content.abort(desc.digest).catch(() => {}); // cleanup: even when aborted
    }
    throw err;
  } finally {
    await writer.close();
  }
}

/** Stores a manifest or index already fetched and verified, with its labels. */
export async function storeManifest(
  ctx: BlobContext,
  desc: Descriptor,
  bytes: Buffer,
  kind: string,
  labels: Record<string, string>,
): Promise<void> {
  await writeBlob(ctx.content, bytes, { expected: desc.digest, signal: ctx.signal });
  await addLabels(ctx, desc, labels);
  ctx.emit({ phase: 'done', id: desc.digest, kind, done: desc.size, total: desc.size });
}

/** Merges labels and the distribution source into the blob's record. */
async function addLabels(
  ctx: BlobContext,
  desc: Descriptor,
  labels: Record<string, string>,
): Promise<void> {
  const key = distributionSourceKey(ctx.repo.ref.domain);
  const current = await ctx.content.info(desc.digest, { signal: ctx.signal });
  const next = { ...labels, [key]: appendSource(current.labels[key], ctx.repo.ref.path) };
  const changed = Object.entries(next).some(([k, v]) => current.labels[k] !== v);
  if (changed)
    await ctx.content.update(
      desc.digest,
      next,
      Object.keys(next).map((k) => `labels.${k}`),
      { signal: ctx.signal },
    );
}

/** A writer that also hands every byte to a tap, in order; truncation detaches the tap. */
function teeWriter(inner: Writer, tap: LayerTap): Writer {
  let attached = true;
  return {
    ref: inner.ref,
    get offset() {
      return inner.offset;
    },
    async write(chunk) {
      if (!attached) return inner.write(chunk);
      await Promise.all([inner.write(chunk), tap.write(chunk)]);
    },
    digest: () => inner.digest(),
    async truncate(size) {
      await inner.truncate(size);
      if (attached) tap.detach();
      attached = false;
    },
    commit: (options) => inner.commit(options),
    close: () => inner.close(),
    status: () => inner.status(),
  };
}

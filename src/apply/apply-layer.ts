import { lstatSync, realpathSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { fail, fromSystem, isCode, type StrataError, throwIfAborted } from '../errors.js';
import { digester } from '../oci/index.js';
import { type ApplyContext, createContext } from './apply-context.js';
import { applyEntry } from './apply-entry.js';
import { decompressedChunks, type LayerSource } from './decompress.js';
import { createTarReader } from './tar-reader.js';
import type { ApplyOptions, ApplyResult, WhiteoutMode } from './types.js';

const PROGRESS_EVERY_MS = 100;

/**
 * Applies a layer blob to `target`, an existing directory: decompresses it by its magic
 * bytes, hashes the diffID over the whole uncompressed stream (bytes after the tar's end
 * included), parses the tar and applies every entry — files, directories, symlinks,
 * hardlinks, devices, fifos, owners, modes, times, xattrs, whiteouts — without ever
 * creating, changing, following or removing anything outside `target`.
 *
 * On failure `target` is left partly applied: the caller removes it (a snapshot is only
 * committed after this resolves).
 *
 * @throws InvalidArgument for a malformed blob or archive (corrupt compression, bad tar
 *   header, truncated archive, an entry that cannot be applied as written: hardlink
 *   target missing, a parent that is not a directory, an invalid whiteout name...).
 * @throws FailedPrecondition when `expectedDiffId` is given and does not match.
 * @throws Aborted when `signal` fires; NotFound when `target` does not exist;
 *   PermissionDenied, ResourceExhausted or Internal for system failures.
 */
export async function applyLayer(
  source: LayerSource,
  target: string,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const { signal, expectedDiffId } = options;
  const subject = options.subject ?? (expectedDiffId && `layer ${expectedDiffId}`);
  let ctx: ApplyContext;
  try {
    throwIfAborted(signal);
    ctx = createContext(rootOf(target), {
      whiteouts: whiteoutMode(options.whiteouts),
      rootless: options.rootless ?? process.getuid?.() !== 0,
      parents: options.parents ?? [],
      onWarning: options.onWarning,
    });
  } catch (err) {
    await release(source); // always consume or cancel the body
    throw layerError(err, subject);
  }
  let entries = 0;
  let size = 0;
  let lastProgress = performance.now();
  const reader = createTarReader((entry) => {
    entries++;
    return applyEntry(ctx, entry);
  });
  const hash = digester('sha256');
  const chunks = decompressedChunks(source, { zstd: options.zstd });
  try {
    for await (const chunk of chunks) {
      throwIfAborted(signal);
      hash.update(chunk);
      size += chunk.length;
      if (!reader.done) reader.push(chunk); // after the tar's end: hashed, not parsed
      // Entries are applied with synchronous fs calls. Yield to the event loop once per
      // chunk so that the decompressor (zlib on the threadpool, the zstd process) gets its
      // callbacks and keeps working while we write, instead of waiting for us to drain it.
      await yieldToEventLoop();
      if (options.onProgress && performance.now() - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = performance.now();
        options.onProgress({ entries, bytes: size });
      }
    }
    throwIfAborted(signal);
    reader.end();
    ctx.finish();
  } catch (err) {
    throw layerError(err, subject);
  } finally {
    ctx.dispose();
  }
  const diffId = hash.digest();
  if (expectedDiffId !== undefined && diffId !== expectedDiffId) {
    throw fail(
      'FailedPrecondition',
      `${subject}: diffID mismatch: got ${diffId}, want ${expectedDiffId}`,
    );
  }
  options.onProgress?.({ entries, bytes: size });
  return { diffId, size, entries, ...(ctx.deferred ? { deferred: ctx.deferred.toJSON() } : {}) };
}

/** Cancels a source that will not be read. */
async function release(source: LayerSource): Promise<void> {
  if (source instanceof Readable) source.destroy();
  else if (Symbol.asyncIterator in source) {
    await (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]().return?.();
  }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function rootOf(target: string): string {
  let root: string;
  try {
    root = realpathSync(target);
    if (!lstatSync(root).isDirectory()) {
      throw fail('InvalidArgument', `apply target ${target}: not a directory`);
    }
  } catch (err) {
    throw fromSystem(err, `apply target ${target}`);
  }
  if (root === '/') throw fail('InvalidArgument', 'apply target: refusing to apply a layer to /');
  return root;
}

function layerError(err: unknown, subject: string | undefined): StrataError {
  const e = isCode(err) ? err : fromSystem(err, 'writing its files');
  if (subject === undefined || e.code === 'Aborted') return e;
  return fail(e.code, `${subject}: ${e.message}`, e);
}

/** `native` was the name of `delete` in strata 0.1; accepted through this release. */
function whiteoutMode(mode: WhiteoutMode | 'native'): WhiteoutMode {
  return mode === 'native' ? 'delete' : mode;
}

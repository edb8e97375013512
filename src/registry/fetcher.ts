import type { Writer } from '../content/index.js';
import { fail, throwIfAborted } from '../errors.js';
import type { Descriptor, Reference } from '../oci/index.js';
import { shortDigest } from '../oci/index.js';
import { pullScope } from './auth.js';
import { discard, errorDetail, type HttpResponse } from './http.js';
import { authorizedSend, type Session } from './request.js';
import { blobPath } from './resolver.js';
import { backoff, isRetryable, networkError, sleep } from './retry.js';
import type { FetchProgress, RegistryHost } from './types.js';

/**
 * Streams one blob into an ingest writer, resuming from the writer's offset with `Range`
 * (a registry that ignores Range gets the already-held bytes skipped), retrying cut
 * connections, short bodies and 429/5xx with backoff. Attempts that make progress do not
 * count against the limit. When all bytes are in, their digest is checked; the caller
 * commits (which checks again). A digest mismatch truncates the ingest: wrong bytes are
 * never kept, and never resumed from.
 */
export interface FetchBlobOptions extends FetchProgress {
  readonly signal?: AbortSignal;
}

/** Even with progress, give up after this many attempts on one host. */
const MAX_ATTEMPTS_WITH_PROGRESS = 50;

/** @throws NotFound, FailedPrecondition (digest or size mismatch), Unavailable, Aborted, ... */
export async function fetchBlobOn(
  session: Session,
  host: RegistryHost,
  ref: Reference,
  desc: Descriptor,
  writer: Writer,
  options: FetchBlobOptions = {},
): Promise<void> {
  const what = `blob ${shortDigest(desc.digest)}`;
  const attempts = session.retry.attempts ?? 5;
  let failures = 0;
  let restarted = false;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal);
    if (writer.offset > desc.size) await writer.truncate(0);
    const before = writer.offset;
    try {
      if (writer.offset < desc.size) await fetchOnce(session, host, ref, desc, writer, options);
      if (writer.offset < desc.size) {
        throw fail(
          'Unavailable',
          `${what} from ${host.host}: body ended at ${writer.offset} of ${desc.size} bytes`,
        );
      }
      const actual = writer.digest();
      if (actual === desc.digest) return;
      await writer.truncate(0);
      // Bytes from an earlier run or a resumed range may be what is wrong: one clean retry.
      if (before > 0 && !restarted) {
        restarted = true;
        continue;
      }
      throw fail(
        'FailedPrecondition',
        `${what} from ${host.host}: digest mismatch: got ${actual}, want ${desc.digest}`,
      );
    } catch (err) {
      if (!isRetryable(err)) throw err;
      failures = writer.offset > before ? 0 : failures + 1;
      if (failures >= attempts || attempt >= MAX_ATTEMPTS_WITH_PROGRESS) throw err;
      options.onRetry?.((err as Error).message);
      await sleep(backoff(Math.max(1, failures), session.retry, err), options.signal);
    }
  }
}

async function fetchOnce(
  session: Session,
  host: RegistryHost,
  ref: Reference,
  desc: Descriptor,
  writer: Writer,
  options: FetchBlobOptions,
): Promise<void> {
  const what = `blob ${shortDigest(desc.digest)}`;
  const offset = writer.offset;
  const res = await authorizedSend(session, host, blobPath(host, ref, desc.digest), {
    method: 'GET',
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    scope: pullScope(ref.path),
    what,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onRetry ? { onRetry: options.onRetry } : {}),
  });
  const skip = await startOffset(res, offset, desc.size, writer, `${what} from ${host.host}`);
  options.onBytes?.(writer.offset);
  await copyBody(res, writer, {
    skip,
    limit: desc.size,
    what: `${what} from ${host.host}`,
    ...options,
  });
}

/**
 * Checks the answer and says how many leading body bytes to drop: 206 must start at our
 * offset; a 200 to a ranged request means the registry ignored Range.
 */
async function startOffset(
  res: HttpResponse,
  offset: number,
  size: number,
  writer: Writer,
  what: string,
): Promise<number> {
  if (res.status === 200) return offset;
  if (res.status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (range && Number(range[1]) === offset) return 0;
    discard(res);
    await writer.truncate(0);
    throw fail('Unavailable', `${what}: range answer does not start at ${offset}; restarting`);
  }
  if (res.status === 416) {
    discard(res);
    await writer.truncate(0);
    throw fail('Unavailable', `${what}: range ${offset}- of ${size} not satisfiable; restarting`);
  }
  if (res.status === 404) {
    discard(res);
    throw fail('NotFound', `${what}: not found`);
  }
  throw fail('Unavailable', `${what}: ${await errorDetail(res)}`);
}

async function copyBody(
  res: HttpResponse,
  writer: Writer,
  o: FetchBlobOptions & { skip: number; limit: number; what: string },
): Promise<void> {
  let skip = o.skip;
  try {
    for await (const raw of res.body) {
      throwIfAborted(o.signal);
      let chunk = raw as Buffer;
      if (skip > 0) {
        const dropped = Math.min(skip, chunk.byteLength);
        skip -= dropped;
        chunk = chunk.subarray(dropped);
        if (chunk.byteLength === 0) continue;
      }
      if (writer.offset + chunk.byteLength > o.limit) {
        await writer.truncate(0);
        throw fail('FailedPrecondition', `${o.what}: more bytes than the expected ${o.limit}`);
      }
      await writer.write(chunk);
      o.onBytes?.(writer.offset);
    }
  } catch (err) {
    discard(res);
    // StrataErrors (a size overrun, a disk failure, an abort) pass through unchanged.
    throw networkError(err, o.what, o.signal);
  }
}

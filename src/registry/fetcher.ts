import type { Writer } from '../content/index.js';
import { fail, throwIfAborted } from '../errors.js';
import type { Descriptor, Reference } from '../oci/index.js';
import { shortDigest } from '../oci/index.js';
import { pullScope } from './auth.js';
import { networkError, RegistryError, statusError } from './errors.js';
import { type HeaderValue, lengthBeyond, parseContentRange, quote, single } from './headers.js';
import { discard, errorDetail, type HttpResponse } from './http.js';
import { authorizedSend, retried, type Session } from './request.js';
import { blobPath } from './resolver.js';
import { isRetryable } from './retry.js';
import type { FetchProgress, RegistryHost } from './types.js';

/**
 * Streams one blob into an ingest writer as one request in the retry loop: each attempt
 * resumes from the writer's offset with `Range` (a registry that ignores Range gets the
 * already-held bytes skipped); cut connections, short bodies and 429/5xx are retried, and
 * attempts that add bytes do not count against `attempts`. The answer's headers are checked
 * before a byte is written: a Content-Length beyond the descriptor's size fails; a 206 whose
 * Content-Range does not answer the Range asked for restarts from 0 (never written at a
 * wrong offset); one that names another size fails. When all bytes are in, their digest is
 * checked; the caller commits (which checks again). A digest mismatch truncates the ingest:
 * wrong bytes are never kept, and never resumed from.
 */
export interface FetchBlobOptions extends FetchProgress {
  readonly signal?: AbortSignal;
}

/** @throws NotFound, FailedPrecondition (digest or size mismatch), Unavailable, Aborted, ... */
export async function fetchBlobOn(
  session: Session,
  host: RegistryHost,
  ref: Reference,
  desc: Descriptor,
  writer: Writer,
  options: FetchBlobOptions = {},
): Promise<void> {
  const where = `blob ${shortDigest(desc.digest)} from ${host.host}`;
  let restarted = false;
  await retried(
    session,
    async () => {
      if (writer.offset > desc.size) await writer.truncate(0);
      const before = writer.offset;
      if (writer.offset < desc.size) await fetchOnce(session, host, ref, desc, writer, options);
      if (writer.offset < desc.size) {
        throw new RegistryError(
          'Unavailable',
          `${where}: body ended at ${writer.offset} of ${desc.size} bytes`,
        );
      }
      const actual = writer.digest();
      if (actual === desc.digest) return;
      await writer.truncate(0);
      // Bytes from an earlier run or a resumed range may be what is wrong: one clean retry.
      if (before > 0 && !restarted) {
        restarted = true;
        throw new RegistryError('Unavailable', `${where}: digest mismatch; restarting from 0`);
      }
      throw fail(
        'FailedPrecondition',
        `${where}: digest mismatch: got ${actual}, want ${desc.digest}`,
      );
    },
    { signal: options.signal, onRetry: options.onRetry, progress: () => writer.offset },
  );
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
  const where = `${what} from ${host.host}`;
  const offset = writer.offset;
  const res = await authorizedSend(session, host, blobPath(host, ref, desc.digest), {
    method: 'GET',
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    scope: pullScope(ref.path),
    what,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let skip: number;
  try {
    skip = await bodyStart(res, offset, desc.size, where);
  } catch (err) {
    discard(res);
    if (isRetryable(err)) await writer.truncate(0);
    throw err;
  }
  options.onBytes?.(writer.offset);
  await copyBody(res, writer, { skip, limit: desc.size, what: where, ...options });
}

/**
 * Checks the answer's status and headers before any byte is written, and says how many
 * leading body bytes to drop: a 200 to a ranged request means the registry ignored Range.
 * A retryable error from here means "restart from 0" (the caller truncates).
 */
async function bodyStart(
  res: HttpResponse,
  offset: number,
  size: number,
  where: string,
): Promise<number> {
  if (res.status === 200 || res.status === 206) {
    const room = res.status === 200 ? size : size - offset;
    const beyond = lengthBeyond(res.headers['content-length'], room, where);
    if (beyond) throw fail('FailedPrecondition', beyond);
    if (res.status === 200) return offset;
    checkRange(res.headers['content-range'], offset, size, where);
    return 0;
  }
  if (res.status === 416) {
    throw new RegistryError(
      'Unavailable',
      `${where}: range ${offset}- of ${size} not satisfiable; restarting from 0`,
      { status: 416 },
    );
  }
  if (res.status === 404) throw fail('NotFound', `${where}: not found`);
  throw statusError(where, res.status, undefined, await errorDetail(res));
}

/**
 * A 206 must answer `bytes=<offset>-` of a blob of `size` bytes.
 * @throws FailedPrecondition when it names another size, or answers a request without
 *   Range with another range; Unavailable (retryable: restart from 0) when it does not start
 *   at `offset` or is malformed.
 */
function checkRange(header: HeaderValue, offset: number, size: number, where: string): void {
  const range = parseContentRange(header);
  const value = quote(single(header) ?? '');
  if (range?.total !== undefined && range.total !== size) {
    throw fail(
      'FailedPrecondition',
      `${where}: Content-Range ${value} names a blob of ${range.total} bytes, the descriptor ${size}`,
    );
  }
  if (range && range.start === offset && range.end < size) return;
  if (offset === 0) {
    throw fail(
      'FailedPrecondition',
      `${where}: Content-Range ${value} answers a request without Range`,
    );
  }
  throw new RegistryError(
    'Unavailable',
    `${where}: Content-Range ${value} does not answer Range bytes=${offset}-; restarting from 0`,
    { status: 206 },
  );
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

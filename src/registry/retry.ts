import { setTimeout as sleepTimer } from 'node:timers/promises';
import { errno, fail, isCode, StrataError, throwIfAborted } from '../errors.js';
import type { RetryOptions } from './types.js';

/**
 * Which failures are worth retrying, and how long to wait. Retryable failures are
 * `Unavailable` StrataErrors: 429 and 5xx answers, cut connections, timeouts. A refused
 * connection is Unavailable too but not retried here: the next host (a mirror's fallback)
 * is the better bet, as containerd does.
 */

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** Unavailable errors not worth retrying on the same host (TLS verification failures). */
const permanent = new WeakSet<StrataError>();
/** Retry-After hints (ms) carried by errors made from 429/503 answers. */
const retryAfterHints = new WeakMap<StrataError, number>();

export function isRetryableStatus(status: number): boolean {
  return RETRY_STATUS.has(status);
}

/** An Unavailable error for a retryable HTTP answer, remembering its Retry-After. */
export function statusError(message: string, retryAfter?: string | string[]): StrataError {
  const err = fail('Unavailable', message);
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  const seconds = header === undefined ? Number.NaN : Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) retryAfterHints.set(err, seconds * 1000);
  return err;
}

/**
 * Maps a network-level failure to a StrataError naming `subject`: aborts stay Aborted,
 * connection and socket errors become Unavailable, the rest pass through fromSystem-style.
 */
export function networkError(err: unknown, subject: string, signal?: AbortSignal): StrataError {
  if (signal?.aborted) {
    try {
      throwIfAborted(signal);
    } catch (abort) {
      return abort as StrataError;
    }
  }
  if (err instanceof StrataError) return err;
  const name = errno(err) ?? errno((err as { cause?: unknown } | null)?.cause);
  const detail = describe(err);
  const tls =
    name?.startsWith('ERR_TLS') ||
    name?.startsWith('ERR_SSL') ||
    /certificate|tls|ssl/i.test(detail);
  const mapped = fail(
    'Unavailable',
    `${subject}: ${tls && !NETWORK_CODES.has(name ?? '') ? 'TLS: ' : ''}${detail}`,
    err,
  );
  // A certificate the client refuses stays refused: retrying the same host is useless.
  if (tls && !NETWORK_CODES.has(name ?? '')) permanent.add(mapped);
  return mapped;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const base = err.message.split('\n')[0] ?? '';
  return cause instanceof Error && cause.message !== err.message
    ? `${base}: ${cause.message.split('\n')[0]}`
    : base;
}

/** True for a connection refused: the peer is not there, retrying the same host is useless. */
export function isRefused(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    if (errno(e) === 'ECONNREFUSED') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** True when retrying the same request may succeed. */
export function isRetryable(err: unknown): boolean {
  return isCode(err, 'Unavailable') && !permanent.has(err) && !isRefused(err);
}

/** The wait before retry number `attempt` (1-based): exponential with jitter, or Retry-After. */
export function backoff(attempt: number, options: RetryOptions = {}, err?: unknown): number {
  const max = options.maxDelayMs ?? 5000;
  const hint = err instanceof StrataError ? retryAfterHints.get(err) : undefined;
  if (hint !== undefined) return Math.min(hint, max * 4);
  const base = (options.baseDelayMs ?? 200) * 2 ** (attempt - 1);
  return Math.min(max, base / 2 + Math.random() * (base / 2));
}

/** Sleeps, waking with Aborted when the signal fires. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleepTimer(ms, undefined, signal ? { signal } : {});
  } catch {
    throwIfAborted(signal);
  }
}

/**
 * Runs `fn` until it succeeds, fails with something not retryable, or has failed
 * `attempts` times; `onRetry` hears each failure that will be retried.
 */
export async function withRetries<T>(
  fn: () => Promise<T>,
  options: RetryOptions & { signal?: AbortSignal; onRetry?: (reason: string) => void } = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal);
    try {
      return await fn();
    } catch (err) {
      if (!isRetryable(err) || attempt >= attempts) throw err;
      options.onRetry?.((err as Error).message);
      await sleep(backoff(attempt, options, err), options.signal);
    }
  }
}

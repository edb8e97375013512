import { abortError, type ErrorCode, errno, StrataError } from '../errors.js';
import { type HeaderValue, parseRetryAfter } from './headers.js';

/**
 * The registry's answer, as data: a StrataError (match it on `code` like any other) that
 * also says what the registry answered and whether asking again can help. The one retry
 * loop (`withRetry`) reads these fields; nothing keeps a side table of errors.
 */
export interface RegistryErrorDetails {
  /** The HTTP status of the answer the error is about. */
  readonly status?: number;
  /** How long the registry asked to wait before asking again (`Retry-After`), in ms. */
  readonly retryAfterMs?: number;
  /**
   * Asking the same host again cannot help: a refused certificate or connection, a broken
   * HTTP answer, a redirect loop, a 4xx. Another host (a mirror's fallback) still may.
   */
  readonly permanent?: boolean;
  readonly cause?: unknown;
}

export class RegistryError extends StrataError {
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly permanent: boolean;

  constructor(code: ErrorCode, message: string, details: RegistryErrorDetails = {}) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.permanent = details.permanent === true;
  }
}

/** Statuses worth asking again for: timeouts, rate limits, a server busy or failing. */
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
  return RETRY_STATUS.has(status);
}

/**
 * An error for an HTTP answer `where` did not want: Unavailable, permanent unless the status
 * is one worth retrying; a well-formed `Retry-After` is quoted and kept as `retryAfterMs`,
 * a malformed one is ignored (the loop's own backoff applies).
 */
export function statusError(
  where: string,
  status: number,
  retryAfter: HeaderValue,
  detail = `HTTP ${status}`,
): RegistryError {
  const hint = parseRetryAfter(retryAfter);
  return new RegistryError(
    'Unavailable',
    `${where}: ${detail}${hint ? ` (Retry-After: ${hint.quoted})` : ''}`,
    {
      status,
      permanent: !isRetryableStatus(status),
      ...(hint ? { retryAfterMs: hint.ms } : {}),
    },
  );
}

/** Connection-level failures that a new attempt may get past. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
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

/**
 * Maps a network-level failure to an error naming `subject`: aborts stay Aborted,
 * StrataErrors pass through, the rest become Unavailable. Permanent among them: a refused
 * connection (the next host, a mirror's fallback, is the better bet, as containerd does), a
 * certificate the client refuses, and an answer that is not HTTP (undici's parser refuses
 * e.g. a malformed Content-Length, and says so).
 */
export function networkError(err: unknown, subject: string, signal?: AbortSignal): StrataError {
  if (signal?.aborted) return abortError(signal);
  if (err instanceof StrataError) return err;
  const name = errno(err) ?? errno((err as { cause?: unknown } | null)?.cause);
  const detail = describe(err);
  const refused = isRefused(err);
  const tls =
    !refused &&
    !TRANSIENT_CODES.has(name ?? '') &&
    (name?.startsWith('ERR_TLS') ||
      name?.startsWith('ERR_SSL') ||
      /certificate|tls|ssl/i.test(detail));
  const malformed =
    (err as Error | null)?.name === 'HTTPParserError' || name === 'UND_ERR_HEADERS_OVERFLOW';
  return new RegistryError('Unavailable', `${subject}: ${tls ? 'TLS: ' : ''}${detail}`, {
    cause: err,
    permanent: refused || tls === true || malformed,
  });
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const base = err.message.split('\n')[0] ?? '';
  return cause instanceof Error && cause.message !== err.message
    ? `${base}: ${cause.message.split('\n')[0]}`
    : base;
}

/** True for a connection refused: the peer is not there. */
function isRefused(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    if (errno(e) === 'ECONNREFUSED') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

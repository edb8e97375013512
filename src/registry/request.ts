import { fail, isCode, throwIfAborted } from '../errors.js';
import { type Authorizer, parseChallenges } from './auth.js';
import { discard, type HttpClient, type HttpRequest, type HttpResponse } from './http.js';
import { isRetryableStatus, statusError, withRetries } from './retry.js';
import type { Capability, RegistryHost, RetryOptions } from './types.js';

/**
 * One authorized request to a registry host: the cached Authorization header is sent; a 401
 * is answered once (challenge, token), a second one is final; 429/5xx and network failures
 * are retried with backoff before any body is read. The caller consumes the body.
 */
export interface Session {
  readonly http: HttpClient;
  readonly auth: Authorizer;
  readonly retry: RetryOptions;
}

export interface AuthorizedRequest extends HttpRequest {
  /** The token scope, e.g. `repository:library/alpine:pull` ('' for none). */
  readonly scope: string;
  /** What is being fetched, for messages: `manifest docker.io/library/alpine:latest`. */
  readonly what: string;
  readonly onRetry?: (reason: string) => void;
}

/**
 * @throws Unauthenticated, PermissionDenied, Unavailable (after retries), Aborted.
 */
export async function authorizedSend(
  session: Session,
  host: RegistryHost,
  target: string,
  request: AuthorizedRequest,
): Promise<HttpResponse> {
  const where = `${request.what} from ${host.host}`;
  for (let round = 0; ; round++) {
    const header = session.auth.header(host, request.scope);
    const res = await withRetries(
      async () => {
        const r = await session.http.send(host, target, {
          ...request,
          headers: { ...request.headers, ...(header ? { authorization: header } : {}) },
        });
        if (isRetryableStatus(r.status)) {
          discard(r);
          throw statusError(`${where}: HTTP ${r.status}`, r.headers['retry-after']);
        }
        return r;
      },
      {
        ...session.retry,
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.onRetry ? { onRetry: request.onRetry } : {}),
      },
    );
    if (res.status === 401) {
      const challenges = parseChallenges(res.headers['www-authenticate']);
      discard(res);
      if (round >= 1) throw fail('Unauthenticated', `${where}: unauthorized`);
      try {
        await session.auth.challenged(host, request.scope, challenges, header, request.signal);
      } catch (err) {
        if (!isCode(err, 'Unauthenticated', 'PermissionDenied')) throw err;
        throw fail(err.code, `${request.what}: ${err.message}`, err);
      }
      continue;
    }
    if (res.status === 403) {
      discard(res);
      throw fail('PermissionDenied', `${where}: access denied`);
    }
    return res;
  }
}

/**
 * Tries `fn` on each host that has `capability`, in order (mirrors, then the upstream),
 * returning the first success. Aborts stop at once; otherwise the last host's error is
 * thrown (a mirror's failure only means "fall back").
 */
export async function onHosts<T>(
  hosts: readonly RegistryHost[],
  capability: Capability,
  what: string,
  fn: (host: RegistryHost) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const usable = hosts.filter((h) => h.capabilities.includes(capability));
  if (usable.length === 0)
    throw fail('FailedPrecondition', `${what}: no host configured to ${capability}`);
  let last: unknown;
  for (const host of usable) {
    throwIfAborted(signal);
    try {
      return await fn(host);
    } catch (err) {
      if (isCode(err, 'Aborted')) throw err;
      last = err;
    }
  }
  throw last;
}

import { fail, isCode, throwIfAborted } from '../errors.js';
import type { Authorizer } from './auth.js';
import { isRetryableStatus, statusError } from './errors.js';
import { discard, type HttpClient, type HttpRequest, type HttpResponse } from './http.js';
import { type RetryRun, withRetry } from './retry.js';
import type { Capability, RegistryHost, RetryOptions } from './types.js';

/**
 * One authorized attempt at a request to a registry host: the cached Authorization header
 * is sent; a 401 is answered once (challenge, token), a second one is final; a 429/5xx
 * answer is thrown as a retryable RegistryError (with its Retry-After) for the caller's
 * retry loop (`retried`), which makes the next attempt. The caller consumes the body.
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
}

/**
 * @throws Unauthenticated, PermissionDenied, Unavailable (a RegistryError: retryable for
 *   429/5xx and cut connections), Aborted.
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
    const res = await session.http.send(host, target, {
      ...request,
      headers: { ...request.headers, ...(header ? { authorization: header } : {}) },
    });
    if (isRetryableStatus(res.status)) {
      discard(res);
      throw statusError(where, res.status, res.headers['retry-after']);
    }
    if (res.status === 401) {
      const challenge = res.headers['www-authenticate'];
      discard(res);
      if (round >= 1) throw fail('Unauthenticated', `${where}: unauthorized`);
      try {
        await session.auth.challenged(host, request.scope, challenge, header, request.signal);
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
 * Runs `attempt` in the one retry loop with the session's bounds; each attempt makes a
 * fresh request (see `withRetry`).
 */
export function retried<T>(
  session: Session,
  attempt: (n: number) => Promise<T>,
  run: Omit<RetryRun, keyof RetryOptions> = {},
): Promise<T> {
  return withRetry(attempt, { ...session.retry, ...run });
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

import { fail } from '../errors.js';
import { isRetryableStatus, statusError } from './errors.js';
import { type HeaderValue, quote } from './headers.js';
import { discard, errorDetail, type HttpClient, readCapped } from './http.js';
import type { Credentials, CredentialsProvider, RegistryHost } from './types.js';

/**
 * Registry authentication, the distribution token flow
 * (https://distribution.github.io/distribution/spec/auth/token/): a 401 carries a
 * `WWW-Authenticate` challenge; `Basic` is answered with the host's credentials, `Bearer`
 * by fetching a token from the challenge's realm (anonymously, with the credentials as
 * basic auth, or an identity token as an OAuth2 refresh token) for the wanted scopes.
 * Tokens are cached per realm, service, scopes and identity until they expire.
 *
 * The realm may be on another host (Docker Hub's is), and gets the registry's credentials,
 * as docker and containerd send them; but never over plain HTTP when the registry itself is
 * HTTPS, and only from an http(s) URL. A token fetch is one step of the request it
 * authorizes: a 429/5xx from the token server fails that attempt, and the request's retry
 * loop asks again.
 */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses a WWW-Authenticate header (one or more challenges). */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  const values = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  const out: Challenge[] = [];
  for (const value of values) {
    const re =
      /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*)))?\s*,?/gy;
    let current: { scheme: string; params: Record<string, string> } | undefined;
    for (let m = re.exec(value); m !== null && m[0] !== ''; m = re.exec(value)) {
      const [, token, quoted, bare] = m;
      if (quoted === undefined && bare === undefined) {
        current = { scheme: token!.toLowerCase(), params: {} };
        out.push(current);
      } else if (current) {
        current.params[token!.toLowerCase()] =
          quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare!;
      }
    }
  }
  return out;
}

export interface Authorizer {
  /** The Authorization header for a request to `host` needing `scope`, if one is known. */
  header(host: RegistryHost, scope: string): string | undefined;
  /**
   * Learns from a 401 answer's `WWW-Authenticate` header: stores the challenge and fetches
   * a token when needed. `sent` is the Authorization header the refused request carried (a
   * refused token is dropped).
   * @throws Unauthenticated when the header offers nothing usable, there is nothing new to
   *   try, or the token server refuses; Unavailable (retryable) when it is busy.
   */
  challenged(
    host: RegistryHost,
    scope: string,
    header: HeaderValue,
    sent: string | undefined,
    signal?: AbortSignal,
  ): Promise<void>;
}

export interface AuthorizerOptions {
  readonly http: HttpClient;
  readonly credentials?: CredentialsProvider;
}

interface Token {
  readonly value: string;
  readonly expiresAt: number;
}

const DEFAULT_TOKEN_SECONDS = 60;
const MAX_TOKEN_RESPONSE = 1024 * 1024;

export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const challenges = new Map<string, Challenge>();
  const tokens = new Map<string, Token>();
  const creds = new Map<string, Promise<Credentials | undefined>>();

  const credentialsFor = (host: RegistryHost, signal?: AbortSignal) => {
    let found = creds.get(host.host);
    if (!found) {
      found =
        options.credentials?.(host.host, signal ? { signal } : {}) ?? Promise.resolve(undefined);
      creds.set(host.host, found);
      found.catch(() => creds.delete(host.host));
    }
    return found;
  };
  const basicValues = new Map<string, string>();

  /** Tokens are per token service, scopes and registry host (whose credentials got them). */
  const tokenKey = (c: Challenge, scopes: readonly string[], host: RegistryHost) =>
    `${c.params.realm}|${c.params.service ?? ''}|${scopes.join(' ')}|${host.host}`;
  const scopesFor = (c: Challenge, scope: string) =>
    [...new Set([scope, ...(c.params.scope ?? '').split(' ')].filter((s) => s !== ''))].sort();

  return {
    header(host, scope) {
      const challenge = challenges.get(host.origin);
      if (!challenge) return undefined;
      if (challenge.scheme === 'basic') return basicValues.get(host.host);
      const token = tokens.get(tokenKey(challenge, scopesFor(challenge, scope), host));
      if (!token || token.expiresAt <= Date.now()) return undefined;
      return `Bearer ${token.value}`;
    },

    async challenged(host, scope, header, sent, signal) {
      const challenge = usableChallenge(host, header);
      challenges.set(host.origin, challenge);
      const credentials = await credentialsFor(host, signal);
      if (credentials && credentials.username !== '') {
        basicValues.set(
          host.host,
          `Basic ${Buffer.from(`${credentials.username}:${credentials.secret}`).toString('base64')}`,
        );
      }
      if (challenge.scheme === 'basic') {
        if (!credentials || credentials.username === '') {
          throw fail('Unauthenticated', `registry ${host.host}: credentials required`);
        }
        if (sent !== undefined)
          throw fail('Unauthenticated', `registry ${host.host}: credentials refused`);
        return;
      }
      const scopes = scopesFor(challenge, scope);
      const key = tokenKey(challenge, scopes, host);
      // A refused token may have expired early or been revoked: drop it and fetch anew
      // (the caller gives up after a second refusal).
      if (sent !== undefined && tokens.get(key) && sent === `Bearer ${tokens.get(key)!.value}`) {
        tokens.delete(key);
      }
      const token = await fetchToken(options, challenge, scopes, credentials, host, signal);
      tokens.set(key, token);
    },
  };
}

/**
 * The challenge strata answers: a Bearer one with a realm, else Basic.
 * @throws Unauthenticated quoting the header when it offers neither.
 */
function usableChallenge(host: RegistryHost, header: HeaderValue): Challenge {
  const offered = parseChallenges(header);
  const challenge =
    offered.find((c) => c.scheme === 'bearer' && c.params.realm) ??
    offered.find((c) => c.scheme === 'basic');
  if (challenge) return challenge;
  const values = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  throw fail(
    'Unauthenticated',
    values.length === 0
      ? `registry ${host.host}: unauthorized, without a WWW-Authenticate challenge`
      : `registry ${host.host}: unauthorized, and WWW-Authenticate ${values.map(quote).join(', ')} offers no usable challenge`,
  );
}

/**
 * The token realm as a URL.
 * @throws Unauthenticated when it is not an http(s) URL, or when it would carry
 *   credentials over plain HTTP for an HTTPS registry.
 */
function realmUrl(
  realm: string,
  host: RegistryHost,
  origin: string,
  credentials: Credentials | undefined,
): URL {
  const bad = (why: string) =>
    fail('Unauthenticated', `registry ${host.host}: WWW-Authenticate realm ${quote(realm)} ${why}`);
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw bad('is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('is not http(s)');
  if (credentials && url.protocol === 'http:' && origin.startsWith('https:')) {
    throw bad('is plain HTTP: strata does not send the HTTPS registry its credentials there');
  }
  return url;
}

async function fetchToken(
  options: AuthorizerOptions,
  challenge: Challenge,
  scopes: readonly string[],
  credentials: Credentials | undefined,
  host: RegistryHost,
  signal?: AbortSignal,
): Promise<Token> {
  const url = realmUrl(challenge.params.realm!, host, options.http.originOf(host), credentials);
  const service = challenge.params.service;
  const identityToken = credentials && credentials.username === '' ? credentials.secret : undefined;
  const what = `registry ${host.host}: token from ${url.host}`;
  const res = identityToken
    ? await options.http.send(undefined, url.href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: identityToken,
          client_id: 'strata',
          ...(service ? { service } : {}),
          scope: scopes.join(' '),
        }).toString(),
        ...(signal ? { signal } : {}),
      })
    : await options.http.send(undefined, tokenUrl(url, service, scopes), {
        method: 'GET',
        headers: credentials
          ? {
              authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.secret}`).toString('base64')}`,
            }
          : {},
        ...(signal ? { signal } : {}),
      });
  if (isRetryableStatus(res.status)) {
    discard(res);
    throw statusError(what, res.status, res.headers['retry-after']);
  }
  if (res.status === 401 || res.status === 403) {
    discard(res);
    throw fail(
      'Unauthenticated',
      `${what}: ${credentials ? 'credentials refused' : 'anonymous access refused'}`,
    );
  }
  if (res.status !== 200) throw fail('Unauthenticated', `${what}: ${await errorDetail(res)}`);
  const body = await readCapped(res, MAX_TOKEN_RESPONSE, what);
  let parsed: {
    token?: unknown;
    access_token?: unknown;
    expires_in?: unknown;
    issued_at?: unknown;
  };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    throw fail('Unauthenticated', `${what}: invalid JSON`);
  }
  const value =
    typeof parsed.token === 'string' && parsed.token ? parsed.token : parsed.access_token;
  if (typeof value !== 'string' || value === '')
    throw fail('Unauthenticated', `${what}: no token in the answer`);
  const seconds =
    typeof parsed.expires_in === 'number' && parsed.expires_in > 0
      ? parsed.expires_in
      : DEFAULT_TOKEN_SECONDS;
  const issued = typeof parsed.issued_at === 'string' ? Date.parse(parsed.issued_at) : Number.NaN;
  const start = Number.isFinite(issued) && issued <= Date.now() ? issued : Date.now();
  // Renew a little early so a token does not expire between use and arrival.
  return { value, expiresAt: start + seconds * 1000 - Math.min(10_000, seconds * 100) };
}

function tokenUrl(realm: URL, service: string | undefined, scopes: readonly string[]): string {
  const url = new URL(realm.href);
  if (service) url.searchParams.set('service', service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  return url.href;
}

/** `repository:<path>:pull` */
export function pullScope(path: string): string {
  return `repository:${path}:pull`;
}

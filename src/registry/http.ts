import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { errno, fail } from '../errors.js';
import { networkError, RegistryError } from './errors.js';
import { parseLength, quote, single } from './headers.js';
import type { RegistryHost } from './types.js';

/**
 * HTTP for the registry client, on undici: one connection pool (Agent) per host's TLS
 * settings, redirects followed by hand so that credentials and configured headers never
 * leave the origin they were meant for (blob storage redirects get neither), loopback hosts
 * that do not speak TLS reached over plain HTTP. A redirect chain is one request: at most
 * MAX_REDIRECTS hops, none back to a URL already visited, each Location a valid http(s) URL,
 * else a permanent error naming the URL (retrying a loop only repeats it). Every response
 * body must be consumed or cancelled by the caller (`readCapped`, `discard`).
 */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * A request body: bytes, or a function opening a fresh stream of it (called once per
 * send, and again for a redirect that keeps the body, 307/308).
 */
export type HttpBody = string | Uint8Array | (() => Readable);

export interface HttpRequest {
  readonly method: HttpMethod;
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: HttpBody;
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
  /** The URL that answered (after redirects), without credentials. */
  readonly url: URL;
}

export interface HttpClient {
  /**
   * Sends a request to `pathAndQuery` on `host` (its origin, with its TLS settings and
   * headers), or to an absolute URL with no host (a token realm, a redirect target).
   * @throws Unavailable for network failures and unusable redirects (a RegistryError,
   *   `permanent` for a loop, a bad Location, a refused certificate); Aborted.
   */
  send(host: RegistryHost | undefined, target: string, request: HttpRequest): Promise<HttpResponse>;
  /** The origin actually used for a host (after a plain-HTTP fallback). */
  originOf(host: RegistryHost): string;
  close(): Promise<void>;
}

export interface HttpClientOptions {
  readonly userAgent?: string;
  /** Time to wait for response headers, and between body chunks (ms, default 30000). */
  readonly timeoutMs?: number;
}

const MAX_REDIRECTS = 5;
const SENSITIVE = new Set(['authorization', 'cookie', 'proxy-authorization']);

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const agents = new Map<string, Agent>();
  const plainOrigins = new Set<string>();
  const timeout = options.timeoutMs ?? 30_000;

  const agentFor = (host: RegistryHost | undefined): Agent => {
    const key = host ? `${host.origin}|${host.host}` : '';
    let agent = agents.get(key);
    if (!agent) {
      const tls = host?.tls ?? {};
      agent = new Agent({
        headersTimeout: timeout,
        bodyTimeout: timeout,
        connections: 16,
        connect: {
          ...(tls.ca
            ? { ca: [...rootCertificates, ...tls.ca.map((c) => c.toString('utf8'))] }
            : {}),
          ...(tls.cert ? { cert: tls.cert } : {}),
          ...(tls.key ? { key: tls.key } : {}),
          rejectUnauthorized: tls.skipVerify !== true,
        },
      });
      agents.set(key, agent);
    }
    return agent;
  };

  const originOf = (host: RegistryHost): string =>
    plainOrigins.has(host.origin) ? host.origin.replace(/^https:/, 'http:') : host.origin;

  const urlOf = (host: RegistryHost | undefined, target: string): URL =>
    host ? new URL(`${originOf(host)}${target}`) : new URL(target);

  const once = async (
    agent: Agent,
    url: URL,
    request: HttpRequest,
    headers: Record<string, string | string[]>,
  ): Promise<Dispatcher.ResponseData> =>
    agent.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: request.method,
      headers,
      ...(request.body !== undefined
        ? { body: typeof request.body === 'function' ? request.body() : request.body }
        : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });

  /** The first hop; on a loopback host that does not speak TLS, falls back to plain HTTP. */
  async function firstHop(
    host: RegistryHost | undefined,
    target: string,
    url: URL,
    request: HttpRequest,
    headers: Record<string, string | string[]>,
    agent: Agent,
  ): Promise<{ url: URL; res: Dispatcher.ResponseData }> {
    try {
      return { url, res: await once(agent, url, request, headers) };
    } catch (err) {
      if (!(host?.httpFallback && url.protocol === 'https:' && speaksPlainHttp(err))) {
        throw networkError(err, `${request.method} ${redact(url)}`, request.signal);
      }
      // A loopback registry without TLS: plain HTTP from now on, as containerd does.
      plainOrigins.add(host.origin);
      const plain = urlOf(host, target);
      const res = await once(agent, plain, request, headers).catch((e: unknown) => {
        throw networkError(e, `${request.method} ${redact(plain)}`, request.signal);
      });
      return { url: plain, res };
    }
  }

  async function send(
    host: RegistryHost | undefined,
    target: string,
    request: HttpRequest,
  ): Promise<HttpResponse> {
    let req = request;
    let headers: Record<string, string | string[]> = {
      'user-agent': options.userAgent ?? 'strata',
      ...(host ? copyHeaders(host.headers) : {}),
      ...copyHeaders(req.headers ?? {}),
    };
    let agent = agentFor(host);
    let answered = await firstHop(host, target, urlOf(host, target), req, headers, agent);
    const first = answered.url;
    const subject = `${req.method} ${redact(first)}`;
    const visited = new Set([first.href]);
    for (let hops = 0; ; hops++) {
      const { url, res } = answered;
      const location = single(res.headers.location);
      if (res.statusCode < 300 || res.statusCode >= 400 || res.statusCode === 304 || !location) {
        return { status: res.statusCode, headers: res.headers, body: res.body, url };
      }
      res.body.resume();
      res.body.on('error', () => {});
      const next = redirectTarget(subject, url, location, visited);
      if (hops >= MAX_REDIRECTS) {
        throw new RegistryError(
          'Unavailable',
          `${subject}: more than ${MAX_REDIRECTS} redirects, the last to ${redact(next)}`,
          { permanent: true },
        );
      }
      visited.add(next.href);
      if (res.statusCode === 303 && req.method !== 'HEAD') req = seeOther(req);
      if (next.origin !== first.origin) {
        // Off the registry's origin (blob storage): no credentials, no configured headers,
        // no client certificate.
        headers = stripSensitive(copyHeaders(req.headers ?? {}), headers['user-agent']);
        agent = agentFor(undefined);
      }
      answered = {
        url: next,
        res: await once(agent, next, req, headers).catch((e: unknown) => {
          throw networkError(e, `${req.method} ${redact(next)}`, req.signal);
        }),
      };
    }
  }

  return {
    send,
    originOf,
    async close() {
      await Promise.all([...agents.values()].map((a) => a.close().catch(() => {})));
      agents.clear();
    },
  };
}

/**
 * Where a redirect leads, resolved against the URL that answered (relative Locations).
 * @throws Unavailable (permanent) naming `subject` for a Location that is not an http(s)
 *   URL, or that leads back to a URL already visited.
 */
function redirectTarget(
  subject: string,
  from: URL,
  location: string,
  visited: ReadonlySet<string>,
): URL {
  const refuse = (why: string) =>
    new RegistryError('Unavailable', `${subject}: ${why}`, { permanent: true });
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw refuse(`redirect Location ${quote(location)} is not a URL`);
  }
  if (next.protocol !== 'https:' && next.protocol !== 'http:') {
    throw refuse(`redirect Location ${quote(location)} is not http(s)`);
  }
  if (visited.has(next.href)) throw refuse(`redirect loop back to ${redact(next)}`);
  return next;
}

/** 303 See Other: the answer is fetched with GET, without the body (RFC 9110 15.4.4). */
function seeOther(request: HttpRequest): HttpRequest {
  const { body: _, ...rest } = request;
  return { ...rest, method: 'GET' };
}

function copyHeaders(
  headers: Readonly<Record<string, string | readonly string[]>>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers))
    out[k.toLowerCase()] = typeof v === 'string' ? v : [...v];
  return out;
}

function stripSensitive(
  headers: Record<string, string | string[]>,
  userAgent: string | string[] | undefined,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (!SENSITIVE.has(k)) out[k] = v;
  if (userAgent !== undefined) out['user-agent'] = userAgent;
  return out;
}

/** A TLS client talking to a plain-HTTP server fails with these. */
function speaksPlainHttp(err: unknown): boolean {
  const code = errno(err) ?? errno((err as { cause?: unknown })?.cause) ?? '';
  const message =
    err instanceof Error
      ? `${err.message} ${String((err as { cause?: Error }).cause?.message ?? '')}`
      : '';
  return (
    code === 'EPROTO' ||
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' ||
    /wrong version number|packet length too long|http request/i.test(message)
  );
}

/** A URL for messages: no userinfo, no query (which may carry tokens on blob storage). */
export function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Reads a whole body, refusing more than `limit` bytes (manifests, tokens, error bodies).
 * @throws ResourceExhausted when the body is larger; Unavailable when the connection fails.
 */
export async function readCapped(res: HttpResponse, limit: number, what: string): Promise<Buffer> {
  const declared = parseLength(res.headers['content-length']);
  if (declared !== undefined && declared > limit) {
    discard(res);
    throw fail('ResourceExhausted', `${what}: ${declared} bytes exceeds the ${limit} byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).byteLength;
      if (size > limit) {
        discard(res);
        throw fail('ResourceExhausted', `${what}: more than the ${limit} byte limit`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw networkError(err, what);
  }
  return Buffer.concat(chunks);
}

/** Cancels a body we do not want. */
export function discard(res: HttpResponse): void {
  res.body.on('error', () => {});
  res.body.destroy();
}

/** A short description of an error answer: the registry's first error message, capped. */
export async function errorDetail(res: HttpResponse): Promise<string> {
  let text = '';
  try {
    text = (await readCapped(res, 16 * 1024, 'error body')).toString('utf8');
  } catch {
    return `HTTP ${res.status}`;
  }
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    if (first)
      return `HTTP ${res.status} ${[first.code, first.message].filter(Boolean).join(': ')}`.slice(
        0,
        300,
      );
  } catch {}
  return `HTTP ${res.status}`;
}

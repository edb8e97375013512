import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { errno, fail } from '../errors.js';
import { networkError } from './retry.js';
import type { RegistryHost } from './types.js';

/**
 * HTTP for the registry client, on undici: one connection pool (Agent) per host's TLS
 * settings, redirects followed by hand so that credentials and configured headers never
 * leave the origin they were meant for (blob storage redirects get neither), loopback hosts
 * that do not speak TLS reached over plain HTTP. Every response body must be consumed or
 * cancelled by the caller (`readCapped`, `discard`).
 */
export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST';
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: string;
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
   * @throws Unavailable for network failures; Aborted.
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
      ...(request.body !== undefined ? { body: request.body } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });

  async function send(
    host: RegistryHost | undefined,
    target: string,
    request: HttpRequest,
  ): Promise<HttpResponse> {
    let url = host ? new URL(`${originOf(host)}${target}`) : new URL(target);
    const firstOrigin = url.origin;
    let headers: Record<string, string | string[]> = {
      'user-agent': options.userAgent ?? 'strata',
      ...(host ? copyHeaders(host.headers) : {}),
      ...copyHeaders(request.headers ?? {}),
    };
    let agent = agentFor(host);
    for (let hop = 0; ; hop++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await once(agent, url, request, headers);
      } catch (err) {
        if (
          !(host?.httpFallback && hop === 0 && url.protocol === 'https:' && speaksPlainHttp(err))
        ) {
          throw networkError(err, `${request.method} ${redact(url)}`, request.signal);
        }
        // A loopback registry without TLS: plain HTTP from now on, as containerd does.
        plainOrigins.add(host.origin);
        url = new URL(`${originOf(host)}${target}`);
        res = await once(agent, url, request, headers).catch((e: unknown) => {
          throw networkError(e, `${request.method} ${redact(url)}`, request.signal);
        });
      }
      const location = res.headers.location;
      if (res.statusCode < 300 || res.statusCode >= 400 || res.statusCode === 304 || !location) {
        return { status: res.statusCode, headers: res.headers, body: res.body, url };
      }
      res.body.resume();
      res.body.on('error', () => {});
      if (hop >= MAX_REDIRECTS) throw fail('Unavailable', `${redact(url)}: too many redirects`);
      const next = new URL(Array.isArray(location) ? location[0]! : location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw fail(
          'Unavailable',
          `${redact(url)}: redirect to unsupported scheme ${next.protocol}`,
        );
      }
      if (next.origin !== firstOrigin) {
        // Off the registry's origin (blob storage): no credentials, no configured headers,
        // no client certificate.
        headers = stripSensitive(copyHeaders(request.headers ?? {}), headers['user-agent']);
        agent = agentFor(undefined);
      }
      url = next;
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
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
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

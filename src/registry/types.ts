/**
 * The registry module's vocabulary. A reference's `domain` (e.g. `docker.io`) is served by
 * one or more `RegistryHost`s: mirrors first, in configured order, then the upstream
 * server. Each host has its own origin, API path, capabilities, TLS and headers.
 */

export type Capability = 'pull' | 'resolve' | 'push';

export interface TlsConfig {
  /** PEM CA certificates trusted in addition to the system roots. */
  readonly ca?: readonly Buffer[];
  /** A client certificate and key (PEM). */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Do not verify the server certificate (hosts.toml `skip_verify`). */
  readonly skipVerify?: boolean;
}

export interface RegistryHost {
  /** `scheme://host[:port]` */
  readonly origin: string;
  /** `host[:port]`: the name credentials are looked up by. */
  readonly host: string;
  /** The API path prefix, `/v2` unless the config overrides it. */
  readonly path: string;
  readonly capabilities: readonly Capability[];
  readonly tls: TlsConfig;
  /** Extra headers sent to this host (hosts.toml `[header]`); never to a redirect target. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** A mirror (not the reference's own registry): requests carry `?ns=<domain>`. */
  readonly mirror: boolean;
  /**
   * Try HTTPS, and fall back to plain HTTP when the server does not speak TLS (loopback
   * hosts with no configured scheme, as containerd does for localhost).
   */
  readonly httpFallback: boolean;
}

/**
 * Credentials for one registry host. `username` empty (or `<token>`) means `secret` is an
 * identity token (an OAuth2 refresh token), as docker's config calls it.
 */
export interface Credentials {
  readonly username: string;
  readonly secret: string;
}

/** Finds the credentials for a host (`host[:port]`), or undefined for anonymous access. */
export type CredentialsProvider = (
  host: string,
  options?: { readonly signal?: AbortSignal },
) => Promise<Credentials | undefined>;

/**
 * The bounds of the retry loop every registry request goes through (see `withRetry`). A
 * request is one manifest HEAD or GET, one blob (all its resumed ranges), one upload.
 */
export interface RetryOptions {
  /** Attempts in a row without progress before giving up (default 5). */
  readonly attempts?: number;
  /** Attempts in all, with progress or not (default 50): a blob cut again and again ends. */
  readonly maxAttempts?: number;
  /** First backoff delay in ms (default 200), doubling up to `maxDelayMs` (default 5000). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /**
   * The longest single wait (ms, default 60000). A registry asking for more (`Retry-After`,
   * in seconds or as an HTTP-date) fails the request at once, quoting what it asked for.
   */
  readonly maxWaitMs?: number;
  /**
   * How long one request may keep failing and waiting since it last made progress (ms,
   * default 600000); a download that keeps growing is bounded by `maxAttempts` instead.
   */
  readonly maxElapsedMs?: number;
}

/** Byte progress of one blob fetch, and retries as they happen. */
export interface FetchProgress {
  /** Bytes in the ingest so far (including bytes found there from an earlier run). */
  onBytes?(offset: number): void;
  /** A retry is about to happen after `reason` (one line, no credentials). */
  onRetry?(reason: string): void;
}

import type { Writer } from '../content/index.js';
import { fail } from '../errors.js';
import type { Descriptor } from '../oci/index.js';
import { formatReference, parseReference, type Reference } from '../oci/index.js';
import { VERSION } from '../version.js';
import { createAuthorizer } from './auth.js';
import { staticCredentials } from './credentials.js';
import { type FetchBlobOptions, fetchBlobOn } from './fetcher.js';
import { type HostsOptions, registryHosts } from './hosts.js';
import { createHttpClient, discard, errorDetail } from './http.js';
import { authorizedSend, onHosts, retried, type Session } from './request.js';
import { fetchManifestOn, resolveOn } from './resolver.js';
import type { Credentials, CredentialsProvider, RegistryHost, RetryOptions } from './types.js';

export interface RegistryClientOptions extends HostsOptions {
  /** Where credentials come from (default: anonymous). See `dockerCredentials()`. */
  readonly credentials?: CredentialsProvider;
  readonly retry?: RetryOptions;
  /** Time to wait for headers and between body chunks (ms, default 30000). */
  readonly timeoutMs?: number;
  readonly userAgent?: string;
}

/** One repository on a registry, reached through its configured hosts. */
export interface Repository {
  readonly ref: Reference;
  /** Mirrors first, the upstream last. */
  readonly hosts: readonly RegistryHost[];
  /**
   * Resolves the reference (its tag, or its digest) to the descriptor of its top manifest
   * or index. When pulled by digest, the manifest is verified against it.
   * @throws NotFound, FailedPrecondition (digest mismatch; schema1), Unauthenticated,
   *   PermissionDenied, Unavailable, Aborted
   */
  resolve(options?: { readonly signal?: AbortSignal }): Promise<Descriptor>;
  /** A manifest or index by descriptor, verified (size, digest), capped at 4 MiB. */
  fetchManifest(desc: Descriptor, options?: { readonly signal?: AbortSignal }): Promise<Buffer>;
  /**
   * Streams a blob into `writer` from the writer's offset, retrying and resuming; returns
   * when the writer holds exactly the blob's bytes (digest checked). The caller commits.
   */
  fetchBlob(desc: Descriptor, writer: Writer, options?: FetchBlobOptions): Promise<void>;
}

/** A registry client: shares connection pools, tokens and credentials across repositories. */
export interface RegistryClient {
  /** @throws InvalidArgument for a bad reference or hosts config. */
  repository(ref: Reference | string): Promise<Repository>;
  /**
   * Checks credentials against a registry's `/v2/` (for `strata login`).
   * @throws Unauthenticated when refused; Unavailable when unreachable.
   */
  checkLogin(
    domain: string,
    credentials: Credentials,
    options?: { readonly signal?: AbortSignal },
  ): Promise<void>;
  /** Closes the connection pools. */
  close(): Promise<void>;
}

export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  const http = createHttpClient({
    userAgent: options.userAgent ?? `strata/${VERSION}`,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  const session: Session = {
    http,
    auth: createAuthorizer({
      http,
      ...(options.credentials ? { credentials: options.credentials } : {}),
    }),
    retry: options.retry ?? {},
  };
  const hostsOptions: HostsOptions = {
    ...(options.hostsDir ? { hostsDir: options.hostsDir } : {}),
    ...(options.plainHttp ? { plainHttp: true } : {}),
  };

  return {
    async repository(input) {
      const ref = typeof input === 'string' ? parseReference(input) : input;
      const hosts = await registryHosts(ref.domain, hostsOptions);
      return repository(session, ref, hosts);
    },

    async checkLogin(domain, credentials, o = {}) {
      const hosts = await registryHosts(domain, hostsOptions);
      const upstream = hosts[hosts.length - 1]!;
      const own: Session = {
        ...session,
        auth: createAuthorizer({
          http,
          credentials: staticCredentials({ [upstream.host]: credentials }),
        }),
      };
      await retried(
        own,
        async () => {
          const res = await authorizedSend(own, upstream, `${upstream.path}/`, {
            method: 'GET',
            scope: '',
            what: `login to ${domain}`,
            ...(o.signal ? { signal: o.signal } : {}),
          });
          if (res.status !== 200)
            throw fail('Unauthenticated', `login to ${domain}: ${await errorDetail(res)}`);
          discard(res);
        },
        { signal: o.signal },
      );
    },

    close: () => http.close(),
  };
}

function repository(session: Session, ref: Reference, hosts: readonly RegistryHost[]): Repository {
  const name = formatReference(ref);
  /** Manifests read while resolving, so the pull does not fetch them twice. */
  const fetched = new Map<string, Buffer>();
  return {
    ref,
    hosts,
    async resolve(o = {}) {
      const resolved = await onHosts(
        hosts,
        'resolve',
        name,
        (h) => resolveOn(session, h, ref, o.signal),
        o.signal,
      );
      if (resolved.bytes) fetched.set(resolved.descriptor.digest, resolved.bytes);
      return resolved.descriptor;
    },
    async fetchManifest(desc, o = {}) {
      const known = fetched.get(desc.digest);
      if (known && known.byteLength === desc.size) return known;
      return onHosts(
        hosts,
        'pull',
        `manifest ${desc.digest}`,
        (h) => fetchManifestOn(session, h, ref, desc, o.signal),
        o.signal,
      );
    },
    fetchBlob(desc, writer, o = {}) {
      return onHosts(
        hosts,
        'pull',
        `blob ${desc.digest}`,
        (h) => fetchBlobOn(session, h, ref, desc, writer, o),
        o.signal,
      );
    },
  };
}

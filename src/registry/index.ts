/**
 * registry: the distribution-spec client. It turns a reference into the hosts that serve it
 * (containerd-compatible `hosts.toml` mirrors, TLS, plain HTTP for loopback), authenticates
 * (anonymous and credentialed bearer tokens, basic auth, docker's config.json with
 * credential helpers), resolves tags and digests to descriptors with verified manifests, and
 * streams blobs into content-store writers with Range resume, and redirects that never carry
 * credentials off the registry's origin. Every request goes through one retry loop
 * (`withRetry`, bounded by `RetryOptions`) that reads the typed `RegistryError` (`status`,
 * `retryAfterMs`, `permanent`); the headers it trusts are parsed strictly (`headers.ts`). It
 * never commits: the caller (pull) commits what the client verified.
 */
export { type Challenge, parseChallenges, pullScope } from './auth.js';
export {
  createRegistryClient,
  type RegistryClient,
  type RegistryClientOptions,
  type Repository,
} from './client.js';
export {
  type DockerCredentialsOptions,
  dockerCredentials,
  staticCredentials,
} from './credentials.js';
export { DOCKER_HUB_AUTH_KEY, dockerConfigPath, readDockerConfig } from './docker-config.js';
export { RegistryError, type RegistryErrorDetails } from './errors.js';
export type { FetchBlobOptions } from './fetcher.js';
export { type HostsOptions, isLoopback, registryHosts } from './hosts.js';
export { type LoginStoreOptions, removeLogin, type SavedTo, saveLogin } from './login.js';
export { MANIFEST_ACCEPT } from './resolver.js';
export { isRetryable, RETRY_DEFAULTS, type RetryRun, withRetry } from './retry.js';
export { parseToml, type TomlTable, type TomlValue } from './toml.js';
export type {
  Capability,
  Credentials,
  CredentialsProvider,
  FetchProgress,
  RegistryHost,
  RetryOptions,
  TlsConfig,
} from './types.js';

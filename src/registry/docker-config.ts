import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { errno, fail, fromSystem } from '../errors.js';

/**
 * Docker's client config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): the
 * parts about registry credentials. `auths` maps a server to inline credentials (base64
 * `user:password` in `auth`, or an `identitytoken`); `credsStore` names the helper for
 * every server and `credHelpers` one helper per server (`docker-credential-<name>`).
 * Unknown fields are kept when strata writes the file back.
 */
export interface DockerAuthEntry {
  readonly auth?: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
  readonly [other: string]: unknown;
}

export interface DockerConfig {
  auths?: Record<string, DockerAuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [other: string]: unknown;
}

/** The key docker uses for Docker Hub credentials. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** Where the config lives, from the environment. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

/** Reads the config; a missing file is an empty config. @throws InvalidArgument */
export async function readDockerConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return {};
    throw fromSystem(err, `docker config ${path}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as DockerConfig;
  } catch (err) {
    throw fail(
      'InvalidArgument',
      `docker config ${path}: invalid JSON (${(err as Error).message})`,
    );
  }
}

/** Writes the config atomically, readable by its owner only. */
export async function writeDockerConfig(path: string, config: DockerConfig): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    throw fromSystem(err, `docker config ${path}`);
  }
}

/**
 * The config keys that may hold a host's credentials, best first: the host itself, then
 * URL forms of it, and docker's Hub key for Docker Hub hosts.
 */
export function authKeys(host: string): string[] {
  if (isDockerHub(host))
    return [DOCKER_HUB_AUTH_KEY, 'docker.io', 'index.docker.io', 'registry-1.docker.io'];
  return [host, `https://${host}`, `http://${host}`];
}

export function isDockerHub(host: string): boolean {
  return ['docker.io', 'index.docker.io', 'registry-1.docker.io', DOCKER_HUB_AUTH_KEY].includes(
    host,
  );
}

/** docker's ConvertToHostname: `https://host/v1/` -> `host`. */
export function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? key;
}

/** The `auths` entry for a host, matching keys written with a scheme or path too. */
export function findAuthEntry(
  config: DockerConfig,
  host: string,
): { key: string; entry: DockerAuthEntry } | undefined {
  const auths = config.auths ?? {};
  for (const key of authKeys(host)) {
    const entry = auths[key];
    if (entry) return { key, entry };
  }
  const wanted = isDockerHub(host) ? 'index.docker.io' : host;
  for (const [key, entry] of Object.entries(auths)) {
    if (keyHost(key) === wanted) return { key, entry };
  }
  return undefined;
}

/** The helper configured for a host (`credHelpers`, else `credsStore`), if any. */
export function helperFor(config: DockerConfig, host: string): string | undefined {
  for (const key of authKeys(host)) {
    const helper = config.credHelpers?.[key];
    if (helper) return helper;
  }
  return config.credsStore || undefined;
}

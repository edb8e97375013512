import { spawn } from 'node:child_process';
import { fail, throwIfAborted } from '../errors.js';
import {
  DOCKER_HUB_AUTH_KEY,
  type DockerConfig,
  dockerConfigPath,
  findAuthEntry,
  helperFor,
  isDockerHub,
  readDockerConfig,
} from './docker-config.js';
import type { Credentials, CredentialsProvider } from './types.js';

/**
 * Where credentials come from: docker's config.json (`auths`, `credsStore`, `credHelpers`),
 * running `docker-credential-<name> get` for helpers, as docker and containerd do.
 */
export interface DockerCredentialsOptions {
  /** The config file (default: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`). */
  readonly configPath?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A provider reading docker's config (re-read on each call: `login` may have changed it). */
export function dockerCredentials(options: DockerCredentialsOptions = {}): CredentialsProvider {
  const path = options.configPath ?? dockerConfigPath(options.env);
  return async (host, o = {}) =>
    credentialsFromConfig(await readDockerConfig(path), host, o.signal);
}

/** Fixed credentials for some hosts (library callers), falling back to `next`. */
export function staticCredentials(
  byHost: Readonly<Record<string, Credentials>>,
  next?: CredentialsProvider,
): CredentialsProvider {
  return async (host, o) =>
    byHost[host] ?? (isDockerHub(host) ? byHost['docker.io'] : undefined) ?? next?.(host, o);
}

async function credentialsFromConfig(
  config: DockerConfig,
  host: string,
  signal?: AbortSignal,
): Promise<Credentials | undefined> {
  const specific = helperFor({ ...config, credsStore: '' }, host);
  if (specific) return helperGet(specific, serverUrl(host), signal);
  const found = findAuthEntry(config, host);
  const inline = found ? fromEntry(found.entry, host) : undefined;
  if (inline) return inline;
  if (config.credsStore) return helperGet(config.credsStore, serverUrl(host), signal);
  return undefined;
}

/** The server name a helper stores credentials under (docker's Hub key for Hub hosts). */
export function serverUrl(host: string): string {
  return isDockerHub(host) ? DOCKER_HUB_AUTH_KEY : host;
}

function fromEntry(
  entry: { auth?: string; username?: string; password?: string; identitytoken?: string },
  host: string,
): Credentials | undefined {
  if (entry.identitytoken) return { username: '', secret: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      throw fail('InvalidArgument', `docker config: credentials for ${host} are malformed`);
    return { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  }
  if (entry.username && entry.password) return { username: entry.username, secret: entry.password };
  return undefined;
}

const HELPER_TIMEOUT_MS = 30_000;

/**
 * Runs `docker-credential-<helper> <action>` with `input` on stdin and returns stdout.
 * The helper's stderr is never shown: it may echo secrets.
 * @throws NotFound when the helper is not installed; Unauthenticated when it fails.
 */
export async function runHelper(
  helper: string,
  action: 'get' | 'store' | 'erase',
  input: string,
  signal?: AbortSignal,
): Promise<{ code: number; stdout: string }> {
  throwIfAborted(signal);
  if (!/^[A-Za-z0-9_.-]+$/.test(helper))
    throw fail('InvalidArgument', `credential helper ${JSON.stringify(helper)}: invalid name`);
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], {
      stdio: ['pipe', 'pipe', 'ignore'],
      timeout: HELPER_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => {
      if (out.reduce((n, b) => n + b.length, 0) < 1024 * 1024) out.push(c);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        reject(fail('NotFound', `credential helper ${program}: not installed`));
      else if (signal?.aborted) reject(fail('Aborted', `credential helper ${program}: aborted`));
      else reject(fail('Unavailable', `credential helper ${program}: ${err.message}`));
    });
    child.on('close', (code) =>
      resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8') }),
    );
  });
}

async function helperGet(
  helper: string,
  server: string,
  signal?: AbortSignal,
): Promise<Credentials | undefined> {
  const { code, stdout } = await runHelper(helper, 'get', server, signal);
  if (code !== 0) {
    // "credentials not found in native keychain": anonymous access, like docker.
    if (/not found/i.test(stdout)) return undefined;
    throw fail(
      'Unauthenticated',
      `credential helper docker-credential-${helper}: get for ${server} failed (exit ${code})`,
    );
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw fail(
      'Unauthenticated',
      `credential helper docker-credential-${helper}: invalid answer for ${server}`,
    );
  }
  if (typeof parsed.Secret !== 'string' || parsed.Secret === '') return undefined;
  const username = typeof parsed.Username === 'string' ? parsed.Username : '';
  return { username: username === '<token>' ? '' : username, secret: parsed.Secret };
}

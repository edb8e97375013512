import { fail } from '../errors.js';
import { runHelper, serverUrl } from './credentials.js';
import {
  type DockerConfig,
  dockerConfigPath,
  findAuthEntry,
  helperFor,
  readDockerConfig,
  writeDockerConfig,
} from './docker-config.js';
import type { Credentials } from './types.js';

/**
 * Saving and removing credentials the way `docker login`/`logout` do: into the credential
 * helper configured for the host (`credHelpers`, else `credsStore`), else inline (base64) in
 * the config file's `auths`, which is written with mode 0600.
 */
export interface LoginStoreOptions {
  readonly configPath?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

/** Where the credentials went: a helper's name, or the config file. */
export type SavedTo = { readonly helper: string } | { readonly file: string };

/** @throws NotFound (helper not installed), Unauthenticated (helper failed) */
export async function saveLogin(
  host: string,
  credentials: Credentials,
  options: LoginStoreOptions = {},
): Promise<SavedTo> {
  const path = options.configPath ?? dockerConfigPath(options.env);
  const config = await readDockerConfig(path);
  const server = serverUrl(host);
  const helper = helperFor(config, host);
  if (helper) {
    const input = JSON.stringify({
      ServerURL: server,
      Username: credentials.username || '<token>',
      Secret: credentials.secret,
    });
    const { code } = await runHelper(helper, 'store', input, options.signal);
    if (code !== 0)
      throw fail(
        'Unauthenticated',
        `credential helper docker-credential-${helper}: store for ${server} failed (exit ${code})`,
      );
    // docker keeps an empty entry so `auths` lists the server.
    await writeDockerConfig(path, withEntry(config, server, {}));
    return { helper };
  }
  const entry = credentials.username
    ? { auth: Buffer.from(`${credentials.username}:${credentials.secret}`).toString('base64') }
    : { identitytoken: credentials.secret };
  await writeDockerConfig(path, withEntry(config, server, entry));
  return { file: path };
}

/** Removes a host's credentials. @returns false when there were none. */
export async function removeLogin(host: string, options: LoginStoreOptions = {}): Promise<boolean> {
  const path = options.configPath ?? dockerConfigPath(options.env);
  const config = await readDockerConfig(path);
  const found = findAuthEntry(config, host);
  const helper = helperFor(config, host);
  let removed = false;
  if (helper) {
    const { code } = await runHelper(helper, 'erase', serverUrl(host), options.signal);
    removed = code === 0;
  }
  if (found) {
    const auths = { ...config.auths };
    delete auths[found.key];
    await writeDockerConfig(path, { ...config, auths });
    removed = true;
  }
  return removed;
}

function withEntry(config: DockerConfig, key: string, entry: Record<string, string>): DockerConfig {
  const existing = findAuthEntry(config, key);
  const auths = { ...config.auths };
  if (existing && existing.key !== key) delete auths[existing.key];
  auths[key] = entry;
  return { ...config, auths };
}

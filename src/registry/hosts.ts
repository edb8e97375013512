import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { errno, fail, fromSystem } from '../errors.js';
import { DOCKER_HUB_DOMAIN, DOCKER_HUB_REGISTRY } from '../oci/index.js';
import { parseToml, type TomlTable, type TomlValue } from './toml.js';
import type { Capability, RegistryHost, TlsConfig } from './types.js';

/**
 * Which hosts serve a registry domain, configured the way containerd's `hosts.toml`
 * directory does it (https://github.com/containerd/containerd/blob/main/docs/hosts.md):
 * `<hostsDir>/<domain>/hosts.toml` (else `<hostsDir>/_default/hosts.toml`) lists mirrors as
 * `[host."URL"]` tables, tried in order, then the upstream `server`. Keys: `capabilities`,
 * `ca`, `client`, `skip_verify`, `header`, `override_path`. Without a hosts.toml, docker's
 * certs.d files in that directory (`*.crt` CAs, `*.cert` + `*.key` client pairs) apply to
 * the upstream server.
 */
export interface HostsOptions {
  /** The hosts directory (`--hosts-dir`, `$STRATA_HOSTS_DIR`). */
  readonly hostsDir?: string;
  /** Talk plain HTTP to the upstream server (`--plain-http`). */
  readonly plainHttp?: boolean;
}

const ALL_CAPABILITIES: readonly Capability[] = ['pull', 'resolve', 'push'];

/**
 * The hosts to try for `domain`, mirrors first, the upstream server last.
 * @throws InvalidArgument for a malformed hosts.toml; NotFound for a missing ca/client file.
 */
export async function registryHosts(
  domain: string,
  options: HostsOptions = {},
): Promise<RegistryHost[]> {
  const server = defaultServer(domain, options);
  if (!options.hostsDir) return [server];
  const dir = await hostDirectory(options.hostsDir, domain);
  if (dir === undefined) return [server];
  const text = await readOptional(join(dir, 'hosts.toml'));
  if (text === undefined) return [{ ...server, tls: await certsDirTls(dir) }];
  return fromHostsToml(parseToml(text, join(dir, 'hosts.toml')), { dir, domain, server });
}

/** `https://domain/v2` (Docker Hub is served by registry-1.docker.io). */
function defaultServer(domain: string, options: HostsOptions): RegistryHost {
  const host = domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_REGISTRY : domain;
  const plain = options.plainHttp === true;
  return {
    origin: `${plain ? 'http' : 'https'}://${host}`,
    host,
    path: '/v2',
    capabilities: ALL_CAPABILITIES,
    tls: {},
    headers: {},
    mirror: false,
    httpFallback: !plain && isLoopback(host),
  };
}

/** True for localhost, 127.0.0.0/8 and ::1 (with or without a port). */
export function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

async function hostDirectory(hostsDir: string, domain: string): Promise<string | undefined> {
  for (const name of [domain, '_default']) {
    const dir = join(hostsDir, name);
    try {
      await readdir(dir);
      return dir;
    } catch (err) {
      if (errno(err) !== 'ENOENT' && errno(err) !== 'ENOTDIR') throw fromSystem(err, dir);
    }
  }
  return undefined;
}

interface Context {
  readonly dir: string;
  readonly domain: string;
  readonly server: RegistryHost;
}

async function fromHostsToml(doc: TomlTable, ctx: Context): Promise<RegistryHost[]> {
  const hosts: RegistryHost[] = [];
  const mirrors = doc.host;
  if (mirrors !== undefined) {
    if (!isTable(mirrors))
      throw fail('InvalidArgument', `${ctx.dir}/hosts.toml: "host" must be a table`);
    for (const [url, entry] of Object.entries(mirrors)) {
      if (!isTable(entry))
        throw fail('InvalidArgument', `${ctx.dir}/hosts.toml: host ${url}: not a table`);
      hosts.push(await hostFrom(url, entry, ctx, true));
    }
  }
  const serverUrl = typeof doc.server === 'string' ? doc.server : ctx.server.origin;
  const server = await hostFrom(serverUrl, doc, ctx, false);
  const explicit = typeof doc.server === 'string';
  hosts.push({ ...server, httpFallback: explicit ? server.httpFallback : ctx.server.httpFallback });
  return hosts;
}

async function hostFrom(
  url: string,
  t: TomlTable,
  ctx: Context,
  mirror: boolean,
): Promise<RegistryHost> {
  const what = `${ctx.dir}/hosts.toml: host ${url}`;
  const hasScheme = /^[a-z]+:\/\//i.test(url);
  let parsed: URL;
  try {
    parsed = new URL(hasScheme ? url : `https://${url}`);
  } catch {
    throw fail('InvalidArgument', `${what}: invalid URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw fail('InvalidArgument', `${what}: scheme must be http or https`);
  }
  if (parsed.username || parsed.password) {
    throw fail('InvalidArgument', `${ctx.dir}/hosts.toml: host URLs must not carry credentials`);
  }
  const base = parsed.pathname.replace(/\/+$/, '');
  const path = base === '' ? '/v2' : t.override_path === true ? base : `${base}/v2`;
  return {
    origin: parsed.origin,
    host: parsed.host,
    path,
    capabilities: capabilitiesFrom(t.capabilities, what),
    tls: await tlsFrom(t, ctx.dir, what),
    headers: headersFrom(t.header, what),
    mirror,
    httpFallback: !hasScheme && isLoopback(parsed.host),
  };
}

function capabilitiesFrom(value: TomlValue | undefined, what: string): readonly Capability[] {
  if (value === undefined) return ALL_CAPABILITIES;
  if (!Array.isArray(value))
    throw fail('InvalidArgument', `${what}: capabilities must be an array`);
  return value.map((c) => {
    if (c !== 'pull' && c !== 'resolve' && c !== 'push') {
      throw fail('InvalidArgument', `${what}: unknown capability ${JSON.stringify(c)}`);
    }
    return c;
  });
}

function headersFrom(
  value: TomlValue | undefined,
  what: string,
): Record<string, string | string[]> {
  if (value === undefined) return {};
  if (!isTable(value)) throw fail('InvalidArgument', `${what}: header must be a table`);
  const headers: Record<string, string | string[]> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v === 'string') headers[name] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string'))
      headers[name] = v as string[];
    else throw fail('InvalidArgument', `${what}: header ${name} must be a string or strings`);
  }
  return headers;
}

async function tlsFrom(t: TomlTable, dir: string, what: string): Promise<TlsConfig> {
  const ca = t.ca === undefined ? [] : stringList(t.ca, `${what}: ca`);
  const pairs = clientPairs(t.client, what);
  const [pair] = pairs;
  return {
    ...(ca.length > 0 ? { ca: await Promise.all(ca.map((p) => readPem(p, dir))) } : {}),
    ...(pair ? { cert: await readPem(pair[0], dir), key: await readPem(pair[1], dir) } : {}),
    ...(t.skip_verify === true ? { skipVerify: true } : {}),
  };
}

/** `client` is a path, a [cert, key] pair, or a list of either (containerd accepts all). */
function clientPairs(value: TomlValue | undefined, what: string): [string, string][] {
  if (value === undefined) return [];
  if (typeof value === 'string') return [[value, value]];
  if (!Array.isArray(value))
    throw fail('InvalidArgument', `${what}: client must be a path or a list`);
  if (value.every((v) => typeof v === 'string')) {
    const [cert, key] = value as string[];
    return cert === undefined ? [] : [[cert, key ?? cert]];
  }
  return value.flatMap((v) => clientPairs(v, what));
}

function stringList(value: TomlValue, what: string): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw fail('InvalidArgument', `${what}: expected a path or a list of paths`);
}

async function readPem(path: string, dir: string): Promise<Buffer> {
  const full = isAbsolute(path) ? path : join(dir, path);
  try {
    return await readFile(full);
  } catch (err) {
    throw fromSystem(err, `hosts config ${full}`);
  }
}

/** docker's certs.d: every `*.crt` is a CA, `x.cert` + `x.key` a client certificate. */
async function certsDirTls(dir: string): Promise<TlsConfig> {
  const names = (await readdir(dir)).sort();
  const ca = await Promise.all(names.filter((n) => n.endsWith('.crt')).map((n) => readPem(n, dir)));
  const cert = names.find((n) => n.endsWith('.cert') && names.includes(`${n.slice(0, -5)}.key`));
  return {
    ...(ca.length > 0 ? { ca } : {}),
    ...(cert
      ? { cert: await readPem(cert, dir), key: await readPem(`${cert.slice(0, -5)}.key`, dir) }
      : {}),
  };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw fromSystem(err, path);
  }
}

function isTable(v: TomlValue | undefined): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

import { fail } from '../../errors.js';
import { DOCKER_HUB_DOMAIN, DOCKER_HUB_REGISTRY } from '../../oci/index.js';
import {
  createRegistryClient,
  registryHosts,
  removeLogin,
  saveLogin,
} from '../../registry/index.js';
import { type Command, stringOption } from '../command.js';
import { REGISTRY_OPTIONS, registrySettings } from '../options.js';
import { printJson, UsageError } from '../output.js';

/** `https://host/v1/` or `index.docker.io` -> the registry domain strata uses. */
export function loginDomain(server: string | undefined): string {
  if (server === undefined) return DOCKER_HUB_DOMAIN;
  const host = server.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  if (host === '') throw new UsageError(`login: invalid server ${JSON.stringify(server)}`);
  return ['index.docker.io', DOCKER_HUB_REGISTRY].includes(host) ? DOCKER_HUB_DOMAIN : host;
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stdin) {
    size += (c as Buffer).length;
    if (size > 64 * 1024) throw fail('InvalidArgument', 'login: password on stdin is too long');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const login: Command = {
  name: 'login',
  summary: 'Check credentials against a registry and save them (docker config.json)',
  usage: '[SERVER] -u USER (--password-stdin | -p PASSWORD)',
  description:
    'SERVER defaults to Docker Hub. Credentials go to the credential helper configured for the\n' +
    'server (credHelpers, credsStore), else into $DOCKER_CONFIG/config.json (mode 0600).',
  options: {
    username: { type: 'string', short: 'u', value: 'USER', description: 'the user name' },
    password: {
      type: 'string',
      short: 'p',
      value: 'PASSWORD',
      description: 'the password (prefer --password-stdin)',
    },
    'password-stdin': { type: 'boolean', description: 'read the password from stdin' },
    ...REGISTRY_OPTIONS,
  },
  args: { max: 1 },
  async run(ctx, [server], values) {
    const username = stringOption(values, 'username');
    if (!username) throw new UsageError('login: -u USER is required');
    const fromStdin = values['password-stdin'] === true;
    const inline = stringOption(values, 'password');
    if (fromStdin === (inline !== undefined))
      throw new UsageError('login: give exactly one of --password-stdin and -p');
    const secret = fromStdin ? await readStdin(ctx.stdin) : inline!;
    if (secret === '') throw new UsageError('login: empty password');
    const domain = loginDomain(server);
    const settings = registrySettings(values);
    const client = createRegistryClient(settings);
    try {
      await client.checkLogin(domain, { username, secret }, { signal: ctx.signal });
    } finally {
      await client.close();
    }
    const hosts = await registryHosts(domain, settings);
    const saved = await saveLogin(
      hosts[hosts.length - 1]!.host,
      { username, secret },
      { signal: ctx.signal },
    );
    if (ctx.globals.json) printJson(ctx.stdout, { server: domain, username, ...saved });
    else ctx.stdout.write('Login Succeeded\n');
    return 0;
  },
};

const logout: Command = {
  name: 'logout',
  summary: 'Remove the saved credentials of a registry',
  usage: '[SERVER]',
  options: REGISTRY_OPTIONS,
  args: { max: 1 },
  async run(ctx, [server], values) {
    const domain = loginDomain(server);
    const hosts = await registryHosts(domain, registrySettings(values));
    const removed = await removeLogin(hosts[hosts.length - 1]!.host, { signal: ctx.signal });
    if (ctx.globals.json) printJson(ctx.stdout, { server: domain, removed });
    else
      ctx.stdout.write(
        removed ? `Removed login credentials for ${domain}\n` : `Not logged in to ${domain}\n`,
      );
    return 0;
  },
};

export const loginCommands: readonly Command[] = [login, logout];

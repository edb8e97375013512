import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dockerCredentials,
  removeLogin,
  saveLogin,
  staticCredentials,
} from '../../src/registry/index.js';
import { tempDir } from '../fixtures/env.js';

describe('docker config credentials', () => {
  let dir: string;
  let config: string;
  let path: string | undefined;

  beforeAll(async () => {
    dir = await tempDir('strata-creds-');
    config = join(dir, 'config.json');
    const bin = join(dir, 'bin');
    await mkdir(bin);
    // A credential helper keeping one secret per server in files, like docker's helpers.
    const helper = join(bin, 'docker-credential-filestore');
    await writeFile(
      helper,
      `#!/bin/sh
store=${join(dir, 'store')}
mkdir -p "$store"
input=$(cat)
case "$1" in
  get) f="$store/$(printf %s "$input" | tr '/:' '__')"
       if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  store) server=$(printf %s "$input" | sed 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/')
         printf %s "$input" > "$store/$(printf %s "$server" | tr '/:' '__')" ;;
  erase) rm -f "$store/$(printf %s "$input" | tr '/:' '__')" ;;
esac
`,
    );
    await chmod(helper, 0o755);
    path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
  });
  afterAll(() => {
    process.env.PATH = path;
  });

  it('reads auths entries by host, URL form and Docker Hub key', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    await writeFile(
      config,
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hub:pw1') },
          'https://r.example:5000/v2/': { auth: b64('u:p:with:colons') },
          'tok.example': { identitytoken: 'refresh-me' },
        },
      }),
    );
    const get = dockerCredentials({ configPath: config });
    expect(await get('registry-1.docker.io')).toEqual({ username: 'hub', secret: 'pw1' });
    expect(await get('r.example:5000')).toEqual({ username: 'u', secret: 'p:with:colons' });
    expect(await get('tok.example')).toEqual({ username: '', secret: 'refresh-me' });
    expect(await get('nobody.example')).toBeUndefined();
    expect(
      await staticCredentials({ 'docker.io': { username: 'a', secret: 'b' } })(
        'registry-1.docker.io',
      ),
    ).toEqual({ username: 'a', secret: 'b' });
  });

  it('stores, reads and erases through credsStore and credHelpers', async () => {
    await writeFile(config, JSON.stringify({ credsStore: 'filestore', other: { kept: true } }));
    expect(
      await saveLogin('r.example', { username: 'ann', secret: 's3' }, { configPath: config }),
    ).toEqual({ helper: 'filestore' });
    const saved = JSON.parse(await readFile(config, 'utf8')) as Record<string, unknown>;
    expect(saved).toEqual({
      credsStore: 'filestore',
      other: { kept: true },
      auths: { 'r.example': {} },
    });
    expect(await dockerCredentials({ configPath: config })('r.example')).toEqual({
      username: 'ann',
      secret: 's3',
    });
    expect(await dockerCredentials({ configPath: config })('unknown.example')).toBeUndefined();
    expect(await removeLogin('r.example', { configPath: config })).toBe(true);
    expect(await dockerCredentials({ configPath: config })('r.example')).toBeUndefined();

    await writeFile(config, JSON.stringify({ credHelpers: { 'h.example': 'missing-helper' } }));
    await expect(dockerCredentials({ configPath: config })('h.example')).rejects.toMatchObject({
      code: 'NotFound',
    });
  });

  it('writes inline auths with mode 0600 when no helper is configured', async () => {
    await writeFile(config, '{}');
    expect(
      await saveLogin(
        'registry-1.docker.io',
        { username: 'x', secret: 'y' },
        { configPath: config },
      ),
    ).toEqual({ file: config });
    expect(JSON.parse(await readFile(config, 'utf8'))).toEqual({
      auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('x:y').toString('base64') } },
    });
    expect(await removeLogin('docker.io', { configPath: config })).toBe(true);
    expect(await removeLogin('docker.io', { configPath: config })).toBe(false);
  });
});

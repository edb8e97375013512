import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBlob } from '../../src/content/index.js';
import type { FetchOptions } from '../../src/fetch/index.js';
import { dockerCredentials, staticCredentials } from '../../src/registry/index.js';
import { openStrata, type Strata } from '../../src/strata/index.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import { allBlobs, buildImage, pushImage, type TestImage } from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { makePki, type TestPki } from '../fixtures/tls.js';
import { startTokenServer } from '../fixtures/token-server.js';
import { pull } from './pull-only.js';

const reason = missing({ commands: [REGISTRY_BIN, 'htpasswd', 'openssl'] });
const fast: FetchOptions = {
  retry: { attempts: 2, baseDelayMs: 10 },
  credentials: async () => undefined,
};
const SECRET = 'pa55-w0rd-never-printed';

describe.skipIf(reason)(`pull with authentication and TLS${skipNote(reason)}`, () => {
  let origin: TestRegistry;
  let image: TestImage;
  let pki: TestPki;

  beforeAll(async () => {
    origin = await startRegistry();
    image = await buildImage({
      layers: [{ files: { a: 'auth' } }, { files: { b: 'tls' }, randomKiB: 32 }],
    });
    await pushImage(origin.url, 'auth/app', 'v1', image);
    pki = await makePki(await tempDir('strata-pki-'));
  });

  const fresh = async () => openStrata({ root: await tempDir(), namespace: 'auth' });
  const expectPulled = async (s: Strata, name: string) => {
    expect(s.images.get(name).target.digest).toBe(image.manifest.digest);
    for (const b of allBlobs(image)) {
      expect((await readBlob(s.content, b.digest, { maxSize: 1 << 22 })).equals(b.bytes)).toBe(
        true,
      );
    }
  };

  describe('htpasswd basic auth', () => {
    let registry: TestRegistry;
    beforeAll(async () => {
      registry = await startRegistry({
        storageDir: origin.storageDir,
        htpasswd: { alice: SECRET },
      });
    });

    it('needs credentials, refuses wrong ones without printing them', async () => {
      const s = await fresh();
      const name = `${registry.host}/auth/app:v1`;
      await expect(pull(s, name, fast)).rejects.toMatchObject({ code: 'Unauthenticated' });
      const wrong = staticCredentials({
        [registry.host]: { username: 'alice', secret: `${SECRET}-wrong` },
      });
      const err = await pull(s, name, { ...fast, credentials: wrong }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'Unauthenticated' });
      expect(String((err as Error).message)).toContain(registry.host);
      expect(JSON.stringify(err) + String(err) + (err as Error).stack).not.toContain(SECRET);
      expect(s.images.list()).toEqual([]);
      s.close();
    });

    it('pulls with credentials from a docker credential helper', async () => {
      const dir = await tempDir('strata-helper-');
      const bin = join(dir, 'bin');
      await mkdir(bin);
      const helper = join(bin, 'docker-credential-strata-test');
      await writeFile(
        helper,
        `#!/bin/sh\nserver=$(cat)\necho "$1 $server" >> ${join(dir, 'calls')}\n` +
          `if [ "$1" = get ] && [ "$server" = "${registry.host}" ]; then\n` +
          `  printf '{"ServerURL":"%s","Username":"alice","Secret":"${SECRET}"}' "$server"; exit 0\nfi\n` +
          `echo "credentials not found in native keychain"; exit 1\n`,
      );
      await chmod(helper, 0o755);
      const config = join(dir, 'config.json');
      await writeFile(config, JSON.stringify({ credHelpers: { [registry.host]: 'strata-test' } }));
      const path = process.env.PATH;
      process.env.PATH = `${bin}:${path}`;
      try {
        const s = await fresh();
        const name = `${registry.host}/auth/app:v1`;
        await pull(s, name, { ...fast, credentials: dockerCredentials({ configPath: config }) });
        await expectPulled(s, name);
        s.close();
      } finally {
        process.env.PATH = path;
      }
    });
  });

  describe('token auth', () => {
    it('gets one anonymous token per scope and reuses it', async () => {
      const tokens = await startTokenServer({ anonymous: true });
      const registry = await startRegistry({
        storageDir: origin.storageDir,
        token: {
          realm: tokens.realm,
          service: tokens.service,
          issuer: tokens.issuer,
          rootCertBundle: tokens.certFile,
        },
      });
      const s = await fresh();
      const name = `${registry.host}/auth/app:v1`;
      await pull(s, name, fast);
      await expectPulled(s, name);
      expect(tokens.requests).toEqual([{ scopes: ['repository:auth/app:pull'], method: 'GET' }]);
      s.close();
    });

    it('sends credentials from docker config.json to the token server', async () => {
      const tokens = await startTokenServer({ users: { bob: SECRET } });
      const registry = await startRegistry({
        storageDir: origin.storageDir,
        token: {
          realm: tokens.realm,
          service: tokens.service,
          issuer: tokens.issuer,
          rootCertBundle: tokens.certFile,
        },
      });
      const dir = await tempDir('strata-dockercfg-');
      const config = join(dir, 'config.json');
      const auth = Buffer.from(`bob:${SECRET}`).toString('base64');
      await writeFile(config, JSON.stringify({ auths: { [`http://${registry.host}`]: { auth } } }));
      const s = await fresh();
      const name = `${registry.host}/auth/app:v1`;
      await expect(pull(s, name, fast)).rejects.toMatchObject({ code: 'Unauthenticated' });
      await pull(s, name, { ...fast, credentials: dockerCredentials({ configPath: config }) });
      await expectPulled(s, name);
      expect(tokens.requests.filter((r) => r.user === 'bob')).toHaveLength(1);
      s.close();
    });
  });

  describe('TLS', () => {
    let registry: TestRegistry;
    let mtls: TestRegistry;
    beforeAll(async () => {
      registry = await startRegistry({
        storageDir: origin.storageDir,
        tls: { cert: pki.serverCert, key: pki.serverKey },
      });
      mtls = await startRegistry({
        storageDir: origin.storageDir,
        tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert },
      });
    });

    const hostsDir = async (
      host: string,
      toml: string | undefined,
      files: Record<string, string> = {},
    ) => {
      const dir = await tempDir('strata-hosts-');
      await mkdir(join(dir, host));
      if (toml !== undefined) await writeFile(join(dir, host, 'hosts.toml'), toml);
      for (const [name, from] of Object.entries(files)) {
        const { copyFile } = await import('node:fs/promises');
        await copyFile(from, join(dir, host, name));
      }
      return dir;
    };

    it('refuses an unknown CA, then trusts the hosts.toml ca', async () => {
      const s = await fresh();
      const name = `${registry.host}/auth/app:v1`;
      const err = await pull(s, name, fast).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'Unavailable' });
      expect(String(err)).toMatch(/certificate/i);
      const dir = await hostsDir(
        registry.host,
        `server = "https://${registry.host}"\nca = "${pki.caCert}"\n`,
      );
      await pull(s, name, { ...fast, hostsDir: dir });
      await expectPulled(s, name);
      s.close();
    });

    it('reads docker certs.d files and honours skip_verify', async () => {
      const s = await fresh();
      const name = `${registry.host}/auth/app:v1`;
      await pull(s, name, {
        ...fast,
        hostsDir: await hostsDir(registry.host, undefined, { 'ca.crt': pki.caCert }),
      });
      await expectPulled(s, name);
      const skip = await fresh();
      await pull(skip, name, {
        ...fast,
        hostsDir: await hostsDir(registry.host, 'skip_verify = true\n'),
      });
      await expectPulled(skip, name);
      s.close();
      skip.close();
    });

    it('presents the configured client certificate', async () => {
      const s = await fresh();
      const name = `${mtls.host}/auth/app:v1`;
      const caOnly = await hostsDir(mtls.host, `ca = "${pki.caCert}"\n`);
      await expect(pull(s, name, { ...fast, hostsDir: caOnly })).rejects.toMatchObject({
        code: 'Unavailable',
      });
      const withClient = await hostsDir(
        mtls.host,
        `server = "https://${mtls.host}"\nca = ["${pki.caCert}"]\nclient = [["${pki.clientCert}", "${pki.clientKey}"]]\n`,
      );
      await pull(s, name, { ...fast, hostsDir: withClient });
      await expectPulled(s, name);
      s.close();
    });
  });
});

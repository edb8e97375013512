import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopback, registryHosts } from '../../src/registry/hosts.js';
import { tempDir } from '../fixtures/env.js';

const write = async (dir: string, host: string, files: Record<string, string>) => {
  await mkdir(join(dir, host), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, host, name), text);
};

describe('registryHosts', () => {
  it('defaults to https on the domain, registry-1.docker.io for docker.io', async () => {
    expect(await registryHosts('docker.io')).toEqual([
      expect.objectContaining({
        origin: 'https://registry-1.docker.io',
        host: 'registry-1.docker.io',
        path: '/v2',
        mirror: false,
        httpFallback: false,
      }),
    ]);
    expect((await registryHosts('localhost:5000'))[0]).toMatchObject({
      origin: 'https://localhost:5000',
      httpFallback: true,
    });
    expect((await registryHosts('r.example', { plainHttp: true }))[0]).toMatchObject({
      origin: 'http://r.example',
      httpFallback: false,
    });
  });

  it('reads mirrors in order, then the server, with paths, capabilities, headers and TLS files', async () => {
    const dir = await tempDir();
    await write(dir, 'docker.io', {
      'hosts.toml': `server = "https://registry-1.docker.io"
[host."https://m1.example/base"]
  capabilities = ["pull"]
  ca = "ca.pem"
  client = ["c.cert", "c.key"]
  skip_verify = true
  [host."https://m1.example/base".header]
    x-a = "1"
[host."http://m2.example:8080/custom"]
  override_path = true
[host."127.0.0.1:9999"]
`,
      'ca.pem': 'CA',
      'c.cert': 'CERT',
      'c.key': 'KEY',
    });
    const hosts = await registryHosts('docker.io', { hostsDir: dir });
    expect(hosts.map((h) => [h.origin, h.path, h.mirror, h.httpFallback])).toEqual([
      ['https://m1.example', '/base/v2', true, false],
      ['http://m2.example:8080', '/custom', true, false],
      ['https://127.0.0.1:9999', '/v2', true, true],
      ['https://registry-1.docker.io', '/v2', false, false],
    ]);
    expect(hosts[0]!.capabilities).toEqual(['pull']);
    expect(hosts[1]!.capabilities).toEqual(['pull', 'resolve', 'push']);
    expect(hosts[0]!.headers).toEqual({ 'x-a': '1' });
    expect(hosts[0]!.tls.ca?.map(String)).toEqual(['CA']);
    expect([
      String(hosts[0]!.tls.cert),
      String(hosts[0]!.tls.key),
      hosts[0]!.tls.skipVerify,
    ]).toEqual(['CERT', 'KEY', true]);
  });

  it('uses _default, and docker certs.d files without a hosts.toml', async () => {
    const dir = await tempDir();
    await write(dir, '_default', { 'hosts.toml': 'skip_verify = true\n' });
    await write(dir, 'r.example:5000', { 'ca.crt': 'CA1', 'client.cert': 'C', 'client.key': 'K' });
    expect((await registryHosts('other.example', { hostsDir: dir }))[0]!.tls.skipVerify).toBe(true);
    const [certsd] = await registryHosts('r.example:5000', { hostsDir: dir });
    expect([
      certsd!.tls.ca?.map(String),
      String(certsd!.tls.cert),
      String(certsd!.tls.key),
    ]).toEqual([['CA1'], 'C', 'K']);
  });

  it('refuses bad configs clearly', async () => {
    const dir = await tempDir();
    await write(dir, 'a.example', { 'hosts.toml': '[host."https://m"]\ncapabilities = ["fly"]\n' });
    await expect(registryHosts('a.example', { hostsDir: dir })).rejects.toThrow(
      /unknown capability "fly"/,
    );
    await write(dir, 'b.example', { 'hosts.toml': '[host."https://u:p@m"]\n' });
    await expect(registryHosts('b.example', { hostsDir: dir })).rejects.toThrow(
      /must not carry credentials/,
    );
    await write(dir, 'c.example', { 'hosts.toml': 'ca = "missing.pem"\n' });
    await expect(registryHosts('c.example', { hostsDir: dir })).rejects.toMatchObject({
      code: 'NotFound',
    });
  });

  it('knows loopback hosts', () => {
    expect(
      ['localhost', 'localhost:5000', '127.0.0.1', '127.1.2.3:80', '[::1]:5000'].every(isLoopback),
    ).toBe(true);
    expect(['example.com', '10.0.0.1:5000', '128.0.0.1'].some(isLoopback)).toBe(false);
  });
});

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openWriter, readBlob } from '../../src/content/index.js';
import { StrataError } from '../../src/errors.js';
import type { FetchOptions } from '../../src/fetch/index.js';
import { RegistryError, staticCredentials } from '../../src/registry/index.js';
import { openStrata, type Strata } from '../../src/strata/index.js';
import { pull } from '../fetch/pull-only.js';
import {
  type BadRegistry,
  type Scenario,
  sha512Of,
  startBadRegistry,
} from '../fixtures/bad-registry.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import { allBlobs, buildImage, type TestImage } from '../fixtures/images.js';
import { makePki } from '../fixtures/tls.js';

/**
 * A registry that answers with malformed headers, loops, endless waits and endless
 * failures: each class fails the pull with one clear line naming the registry and what was
 * wrong, within a bounded number of requests, recording no image and committing no blob
 * that is not the image's.
 */
const fast = {
  retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20, maxWaitMs: 1000 },
  credentials: async () => undefined,
} satisfies FetchOptions;

let image: TestImage;
let bad: BadRegistry;
let big: `sha256:${string}`;
let strata: Strata;

beforeAll(async () => {
  image = await buildImage({
    layers: [{ files: { a: 'hostile' } }, { files: { b: 'big' }, randomKiB: 1536 }],
  });
  big = image.layers[1]!.digest;
  bad = await startBadRegistry(image);
});

beforeEach(async () => {
  bad.misbehave();
  strata = await openStrata({ root: await tempDir(), namespace: 'hostile' });
  return () => strata.close();
});

/** Pulls from `registry` misbehaving as `scenarios`, expecting a failure. */
async function failure(
  scenarios: readonly Scenario[],
  options: FetchOptions = fast,
  registry = bad,
): Promise<StrataError> {
  registry.misbehave(...scenarios);
  const err = await pull(strata, registry.ref, options).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(StrataError);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  expect(message).toContain(registry.host);
  await expectNothingRecorded();
  return err as StrataError;
}

/** No image, and every committed blob is one of the image's, with its bytes. */
async function expectNothingRecorded(): Promise<void> {
  expect(strata.images.list()).toEqual([]);
  const known = new Map(allBlobs(image).map((b) => [b.digest as string, b.bytes]));
  const stored: string[] = [];
  await strata.content.walk((info) => {
    stored.push(info.digest);
  });
  for (const digest of stored) {
    const bytes = await readBlob(strata.content, digest as `sha256:${string}`, {
      maxSize: 1 << 24,
    });
    expect(known.get(digest)?.equals(bytes), digest).toBe(true);
  }
  expect(stored).not.toContain(image.manifest.digest);
}

async function expectPulled(): Promise<void> {
  expect(strata.images.get(bad.ref).target.digest).toBe(image.manifest.digest);
  for (const b of allBlobs(image)) {
    const stored = await readBlob(strata.content, b.digest, { maxSize: 1 << 24 });
    expect(stored.equals(b.bytes), b.digest).toBe(true);
  }
}

describe('a Docker-Content-Digest that is not a digest', () => {
  it('on HEAD fails the pull at the first request, quoting it', async () => {
    const err = await failure([
      {
        kind: 'header',
        on: 'manifest',
        method: 'HEAD',
        name: 'docker-content-digest',
        value: 'sha256:not-a-digest',
      },
    ]);
    expect(err).toMatchObject({ code: 'FailedPrecondition' });
    expect(err.message).toContain(
      'Docker-Content-Digest "sha256:not-a-digest" is not a valid digest',
    );
    expect(bad.requests.map((r) => `${r.method} ${r.target}`)).toEqual(['HEAD manifest']);
  });

  it.each([
    ['garbage', () => 'garbage', 'Docker-Content-Digest "garbage" is not a valid digest'],
    [
      'two different digests',
      () => [image.manifest.digest, `sha256:${'0'.repeat(64)}`],
      `"sha256:${'0'.repeat(64)}" names several digests`,
    ],
  ])('on GET (%s) fails the pull', async (_, value, expected) => {
    const err = await failure([
      {
        kind: 'header',
        on: 'manifest',
        method: 'GET',
        name: 'docker-content-digest',
        value: value(),
      },
    ]);
    expect(err).toMatchObject({ code: 'FailedPrecondition' });
    expect(err.message).toContain(expected);
    expect(bad.requests.map((r) => `${r.method} ${r.target}`)).toEqual([
      'HEAD manifest',
      'GET manifest',
    ]);
  });

  it('on the GET that resolves a tag (HEAD said too little) fails the pull', async () => {
    const err = await failure([
      { kind: 'header', on: 'manifest', method: 'HEAD', name: 'content-type', value: null },
      { kind: 'header', on: 'manifest', method: 'GET', name: 'docker-content-digest', value: 'x' },
    ]);
    expect(err.message).toContain('Docker-Content-Digest "x" is not a valid digest');
    expect(bad.requests.map((r) => r.method)).toEqual(['HEAD', 'GET']);
  });

  it('in another algorithm is checked in that algorithm (and passes)', async () => {
    bad.misbehave({
      kind: 'header',
      on: 'manifest',
      method: 'GET',
      name: 'docker-content-digest',
      value: sha512Of(image.manifest.bytes),
    });
    await pull(strata, bad.ref, fast);
    await expectPulled();
  });

  it('in another algorithm, and wrong, fails the pull', async () => {
    const err = await failure([
      {
        kind: 'header',
        on: 'manifest',
        method: 'GET',
        name: 'docker-content-digest',
        value: sha512Of(Buffer.from('other bytes')),
      },
    ]);
    expect(err.message).toMatch(
      /body digest sha512:[0-9a-f]{128} differs from Docker-Content-Digest/,
    );
  });
});

describe('redirect loops', () => {
  it('a redirect back to itself is permanent: one request, naming the URL', async () => {
    const err = await failure([
      { kind: 'redirect', on: 'blob', digest: big, location: (path) => path },
    ]);
    expect(err).toMatchObject({ code: 'Unavailable', permanent: true });
    expect(err.message).toContain(
      `redirect loop back to http://${bad.host}/v2/bad/app/blobs/${big}`,
    );
    expect(bad.count('blob', big)).toBe(1);
  });

  it('an endless chain stops after 5 redirects: one chain of 6 requests', async () => {
    const err = await failure([
      { kind: 'redirect', digest: big, location: (_, n) => `/_storage/${big}?hop=${n}` },
    ]);
    expect(err).toMatchObject({ code: 'Unavailable', permanent: true });
    expect(err.message).toContain(
      `GET http://${bad.host}/v2/bad/app/blobs/${big}: more than 5 redirects`,
    );
    expect(bad.count('blob', big)).toBe(1);
    expect(bad.count('storage', big)).toBe(5);
  });
});

describe('Retry-After without end', () => {
  it('a wait longer than maxWaitMs fails at once, quoting the registry', async () => {
    const started = Date.now();
    const err = await failure([
      { kind: 'status', status: 429, retryAfter: '86400', on: 'blob', digest: big },
    ]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).toMatchObject({ code: 'Unavailable', status: 429, retryAfterMs: 86_400_000 });
    expect(err.message).toContain('HTTP 429 (Retry-After: "86400")');
    expect(err.message).toContain('asks to wait 86400 s, longer than strata waits (1.0 s');
    expect(bad.count('blob', big)).toBe(1);
  });

  it('an HTTP-date an hour away fails the same way', async () => {
    const date = new Date(Date.now() + 3600_000).toUTCString();
    const err = await failure([
      { kind: 'status', status: 503, retryAfter: date, on: 'blob', digest: big },
    ]);
    expect(err.message).toContain(`(Retry-After: "${date}")`);
    expect(err.message).toMatch(/asks to wait 3[56]\d\d s/);
    expect(bad.count('blob', big)).toBe(1);
  });

  it('a short wait is honoured, and a date in the past means now', async () => {
    const past = new Date(Date.now() - 3600_000).toUTCString();
    bad.misbehave(
      { kind: 'status', status: 429, retryAfter: '1', on: 'blob', digest: big, times: 1 },
      { kind: 'status', status: 503, retryAfter: past, on: 'blob', digest: big, times: 1 },
    );
    const started = Date.now();
    await pull(strata, bad.ref, fast);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    await expectPulled();
    expect(bad.count('blob', big)).toBe(3);
  });

  it.each(['-5', '1.5', 'soon', 'Sunday, 99 Foo 2026', ''])(
    'a malformed value (%j) is ignored: strata backs off on its own',
    async (value) => {
      bad.misbehave({ kind: 'status', status: 503, retryAfter: value, on: 'blob', times: 2 });
      await pull(strata, bad.ref, fast);
      await expectPulled();
      expect(bad.requests.filter((r) => r.misbehaved === 'status')).toHaveLength(2);
    },
  );

  it('a huge value fails at once rather than overflowing a timer', async () => {
    const err = await failure([
      { kind: 'status', status: 429, retryAfter: '9'.repeat(30), on: 'blob', digest: big },
    ]);
    expect(err.message).toContain('longer than strata waits');
    expect(bad.count('blob', big)).toBe(1);
  });

  it('waits that fit maxWaitMs still end at maxElapsedMs', async () => {
    const started = Date.now();
    const err = await failure(
      [{ kind: 'status', status: 503, retryAfter: '1', on: 'blob', digest: big }],
      { ...fast, retry: { ...fast.retry, attempts: 100, maxWaitMs: 5000, maxElapsedMs: 2500 } },
    );
    expect(Date.now() - started).toBeLessThan(4000);
    expect(err.message).toMatch(
      /gave up after 3 attempts in 2\.\d s, the next one 1\.0 s away \(retry\.maxElapsedMs 2\.5 s\)/,
    );
    expect(bad.count('blob', big)).toBe(3);
  });
});

describe('bounded retries', () => {
  it('a blob answering 503 forever is asked exactly `attempts` times', async () => {
    const err = await failure([{ kind: 'status', status: 503, on: 'blob', digest: big }]);
    expect(err).toMatchObject({ code: 'Unavailable', status: 503 });
    expect(err.message).toMatch(
      /^blob sha256:[0-9a-f]{12} from 127\.0\.0\.1:\d+: HTTP 503: gave up after 3 attempts in \d+\.\d s$/,
    );
    expect(bad.count('blob', big)).toBe(3);
  });

  it('a manifest answering 503 forever: 3 HEADs, no GET', async () => {
    await failure([{ kind: 'status', status: 503, on: 'manifest' }]);
    expect(bad.requests.map((r) => `${r.method} ${r.target}`)).toEqual(
      Array(3).fill('HEAD manifest'),
    );
  });

  it('a token server answering 503 forever: one loop, not one inside another', async () => {
    const err = await failure([
      { kind: 'status', status: 503, on: 'token' },
      { kind: 'challenge', value: `Bearer realm="${bad.url}/token",service="bad"` },
    ]);
    expect(err.message).toContain(`token from ${bad.host}: HTTP 503`);
    expect(bad.count('manifest')).toBe(3);
    expect(bad.count('token')).toBe(3);
  });

  it('a 4xx is permanent: one request', async () => {
    const err = await failure([{ kind: 'status', status: 400, on: 'blob', digest: big }]);
    expect(err).toMatchObject({ code: 'Unavailable', status: 400, permanent: true });
    expect(bad.count('blob', big)).toBe(1);
  });

  it('a blob cut again and again ends at maxAttempts, keeping its bytes to resume', async () => {
    const err = await failure([{ kind: 'cut', after: 100_000, on: 'blob', digest: big }], {
      ...fast,
      retry: { ...fast.retry, maxAttempts: 6 },
    });
    expect(err.message).toContain('gave up after 6 attempts');
    expect(err.message).toContain('retry.maxAttempts');
    expect(bad.count('blob', big)).toBe(6);
    expect((await strata.content.status(big)).offset).toBe(600_000);
    bad.misbehave();
    await pull(strata, bad.ref, fast);
    await expectPulled();
    expect(bad.requests.filter((r) => r.path.includes(big)).map((r) => r.range)).toEqual([
      'bytes=600000-',
    ]);
  });
});

describe('a Content-Range that does not answer the Range asked for', () => {
  const size = () => image.layers[1]!.size;
  const half = 700_000;
  const seed = async () => {
    const w = await openWriter(strata.content, { ref: big, expected: big, total: size() });
    await w.write(image.layers[1]!.bytes.subarray(0, half));
    await w.close();
  };

  it.each([
    ['another start', () => `bytes 0-${size() - 1}/${size()}`],
    ['a malformed value', () => 'bytes=700000-'],
    ['no value', () => null],
  ])('(%s) is never written at the wrong offset: strata restarts from 0', async (_, value) => {
    await seed();
    bad.misbehave({
      kind: 'header',
      on: 'blob',
      digest: big,
      name: 'content-range',
      value: value(),
      times: 1,
    });
    const retries: string[] = [];
    await pull(strata, bad.ref, {
      ...fast,
      onProgress: (e) => e.phase === 'retrying' && retries.push(e.message ?? ''),
    });
    await expectPulled();
    expect(bad.requests.filter((r) => r.path.includes(big)).map((r) => r.range)).toEqual([
      `bytes=${half}-`,
      undefined,
    ]);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toContain(`from ${bad.host}: Content-Range`);
    expect(retries[0]).toContain(`does not answer Range bytes=${half}-; restarting from 0`);
  });

  it('naming another size fails the pull', async () => {
    await seed();
    const err = await failure([
      {
        kind: 'header',
        on: 'blob',
        digest: big,
        name: 'content-range',
        value: `bytes ${half}-${size() - 1}/${size() + 10}`,
      },
    ]);
    expect(err).toMatchObject({ code: 'FailedPrecondition' });
    expect(err.message).toContain(`names a blob of ${size() + 10} bytes, the descriptor ${size()}`);
    expect(bad.count('blob', big)).toBe(1);
    await expect(strata.content.info(big)).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('on a 206 to a request without Range fails the pull', async () => {
    const err = await failure([
      {
        kind: 'header',
        on: 'blob',
        digest: big,
        name: 'content-range',
        value: `bytes 100-${size() - 1}/${size()}`,
        status: 206,
      },
    ]);
    expect(err.message).toContain(
      `Content-Range "bytes 100-${size() - 1}/${size()}" answers a request without Range`,
    );
    expect(bad.count('blob', big)).toBe(1);
  });
});

describe('a Content-Length that is malformed or beyond the descriptor', () => {
  it('larger than the blob: fails before a byte is written', async () => {
    const size = image.layers[1]!.size;
    const err = await failure([
      { kind: 'header', on: 'blob', digest: big, name: 'content-length', value: String(size * 2) },
    ]);
    expect(err).toMatchObject({ code: 'FailedPrecondition' });
    expect(err.message).toContain(
      `Content-Length ${size * 2} is more than the ${size} bytes expected`,
    );
    expect(bad.count('blob', big)).toBe(1);
    await expect(strata.content.status(big)).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('larger than a manifest: fails', async () => {
    const size = image.manifest.size;
    const err = await failure([
      {
        kind: 'header',
        on: 'manifest',
        method: 'GET',
        name: 'content-length',
        value: `${size + 1}`,
      },
    ]);
    expect(err).toMatchObject({ code: 'FailedPrecondition' });
    expect(err.message).toContain(
      `Content-Length ${size + 1} is more than the ${size} bytes expected`,
    );
    expect(bad.count('manifest')).toBe(2);
  });

  it('absurdly large: fails within the attempts', async () => {
    const err = await failure([
      { kind: 'header', on: 'blob', digest: big, name: 'content-length', value: '9'.repeat(30) },
    ]);
    expect(err.message).toMatch(/content-length/i);
    expect(bad.count('blob', big)).toBeLessThanOrEqual(3);
  });

  it.each(['GET', 'HEAD'])(
    'not a number (%s): undici refuses the answer, not retried',
    async (method) => {
      const err = await failure([
        {
          kind: 'header',
          on: method === 'GET' ? 'blob' : 'manifest',
          method,
          name: 'content-length',
          value: 'abc',
        },
      ]);
      expect(err).toMatchObject({ code: 'Unavailable', permanent: true });
      expect(err.message).toContain('Content-Length');
      expect(bad.requests.filter((r) => r.misbehaved)).toHaveLength(1);
    },
  );
});

describe('a WWW-Authenticate that offers nothing usable', () => {
  it.each([
    [
      'garbage',
      'Negotiate abc, ,,,',
      'WWW-Authenticate "Negotiate abc, ,,," offers no usable challenge',
    ],
    ['missing', null, 'without a WWW-Authenticate challenge'],
    ['a realm that is not a URL', 'Bearer realm="not a url"', 'realm "not a url" is not a URL'],
    [
      'a realm that is not http(s)',
      'Bearer realm="file:///etc/passwd"',
      'realm "file:///etc/passwd" is not http(s)',
    ],
  ])('(%s) fails as Unauthenticated, quoting it', async (_, value, expected) => {
    const err = await failure([{ kind: 'challenge', value }]);
    expect(err).toMatchObject({ code: 'Unauthenticated' });
    expect(err.message).toContain(expected);
    expect(bad.requests).toHaveLength(1);
  });
});

describe('a Location that is not usable', () => {
  it.each([
    ['not a URL', 'http://[::1', '"http://[::1" is not a URL'],
    ['not http(s)', 'file:///etc/passwd', '"file:///etc/passwd" is not http(s)'],
  ])('(%s) is permanent: one request', async (_, location, expected) => {
    const err = await failure([
      { kind: 'redirect', on: 'blob', digest: big, location: () => location },
    ]);
    expect(err).toMatchObject({ code: 'Unavailable', permanent: true });
    expect(err.message).toContain(`redirect Location ${expected}`);
    expect(bad.count('blob', big)).toBe(1);
  });

  it('a relative Location is followed on the same registry', async () => {
    bad.misbehave({
      kind: 'redirect',
      on: 'blob',
      location: (p) => `/_storage/${p.split('/').pop()}`,
    });
    await pull(strata, bad.ref, fast);
    await expectPulled();
    expect(bad.count('storage')).toBe(image.layers.length + 1);
  });
});

describe('credentials and other hosts', () => {
  const SECRET = 'hostile-s3cret';
  const credentials = (host: string) =>
    staticCredentials({ [host]: { username: 'alice', secret: SECRET } });

  it('a realm on another host gets them (as docker does); blob storage elsewhere does not', async () => {
    const realm = await startBadRegistry(image);
    const storage = await startBadRegistry(image);
    bad.misbehave(
      { kind: 'challenge', value: `Bearer realm="${realm.url}/token",service="bad"` },
      {
        kind: 'redirect',
        on: 'blob',
        location: (p) => `${storage.url}/_storage/${p.split('/').pop()}`,
      },
    );
    await pull(strata, bad.ref, { ...fast, credentials: credentials(bad.host) });
    await expectPulled();
    const basic = `Basic ${Buffer.from(`alice:${SECRET}`).toString('base64')}`;
    expect(realm.requests.map((r) => r.authorization)).toEqual([basic]);
    expect(storage.requests.length).toBe(image.layers.length + 1);
    expect(storage.requests.every((r) => r.authorization === undefined)).toBe(true);
    expect(
      bad.requests
        .filter((r) => r.target === 'blob')
        .every((r) => r.authorization === 'Bearer strata-test-token'),
    ).toBe(true);
  });

  const reason = missing({ commands: ['openssl'] });
  it.skipIf(reason)(
    `a plain-HTTP realm of an HTTPS registry never gets them${skipNote(reason)}`,
    async () => {
      const pki = await makePki(await tempDir('strata-pki-'));
      const secure = await startBadRegistry(image, {
        tls: { cert: pki.serverCert, key: pki.serverKey },
      });
      const realm = await startBadRegistry(image);
      const hostsDir = await tempDir('strata-hosts-');
      await mkdir(join(hostsDir, secure.host));
      await writeFile(
        join(hostsDir, secure.host, 'hosts.toml'),
        `server = "https://${secure.host}"\nca = "${pki.caCert}"\n`,
      );
      const challenge: Scenario = { kind: 'challenge', value: `Bearer realm="${realm.url}/token"` };
      const err = await failure(
        [challenge],
        { ...fast, hostsDir, credentials: credentials(secure.host) },
        secure,
      );
      expect(err).toMatchObject({ code: 'Unauthenticated' });
      expect(err.message).toContain(`realm "${realm.url}/token" is plain HTTP`);
      expect(realm.requests).toEqual([]);
      expect(JSON.stringify(err) + String(err)).not.toContain(SECRET);
      // Anonymous, the same realm is fine: there is nothing to leak.
      secure.misbehave(challenge);
      await pull(strata, secure.ref, { ...fast, hostsDir });
      expect(realm.requests.map((r) => r.authorization)).toEqual([undefined]);
    },
  );
});

it('RegistryError is a StrataError with data', () => {
  const err = new RegistryError('Unavailable', 'x: HTTP 503', { status: 503, retryAfterMs: 10 });
  expect(err).toBeInstanceOf(StrataError);
  expect(err).toMatchObject({
    code: 'Unavailable',
    status: 503,
    retryAfterMs: 10,
    permanent: false,
  });
});

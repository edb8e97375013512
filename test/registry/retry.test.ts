import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { fail } from '../../src/errors.js';
import { createAuthorizer } from '../../src/registry/auth.js';
import { createHttpClient, discard } from '../../src/registry/http.js';
import { RegistryError, registryHosts, withRetry } from '../../src/registry/index.js';
import { authorizedSend, retried, type Session } from '../../src/registry/request.js';
import { type BadRegistry, startBadRegistry } from '../fixtures/bad-registry.js';
import { buildImage } from '../fixtures/images.js';

/** The one retry loop: what it retries, its bounds, and fresh requests per attempt. */
const fast = { baseDelayMs: 1, maxDelayMs: 2 };
const busy = (retryAfterMs?: number) =>
  new RegistryError('Unavailable', 'x: HTTP 503', {
    status: 503,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });

describe('withRetry', () => {
  it('retries retryable RegistryErrors until success', async () => {
    let calls = 0;
    const reasons: string[] = [];
    const value = await withRetry(
      async (n) => {
        calls++;
        if (n < 3) throw busy();
        return 'ok';
      },
      { ...fast, onRetry: (r) => reasons.push(r) },
    );
    expect(value).toBe('ok');
    expect(calls).toBe(3);
    expect(reasons).toEqual(['x: HTTP 503', 'x: HTTP 503']);
  });

  it.each([
    ['a permanent RegistryError', new RegistryError('Unavailable', 'x', { permanent: true })],
    ['a plain Unavailable StrataError', fail('Unavailable', 'x')],
    ['another code', new RegistryError('FailedPrecondition', 'x')],
    ['a TypeError', new TypeError('x')],
  ])('stops at once on %s', async (_, err) => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw err;
      }, fast),
    ).rejects.toBe(err);
    expect(calls).toBe(1);
  });

  it('gives up after `attempts` in a row without progress', async () => {
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        throw busy();
      },
      { ...fast, attempts: 4 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(err).toMatchObject({ code: 'Unavailable', status: 503, permanent: true });
    expect((err as Error).message).toMatch(/^x: HTTP 503: gave up after 4 attempts in 0\.\d s$/);
    expect((err as Error).cause).toBeInstanceOf(RegistryError);
  });

  it('does not count attempts that made progress, up to maxAttempts', async () => {
    let held = 0;
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        held += 10;
        throw busy();
      },
      { ...fast, attempts: 2, maxAttempts: 7, progress: () => held },
    ).catch((e: unknown) => e);
    expect(calls).toBe(7);
    expect((err as Error).message).toContain('gave up after 7 attempts');
  });

  it('counts progress by the most ever held: a restart that refills is no progress', async () => {
    let held = 0;
    let calls = 0;
    await withRetry(
      async () => {
        calls++;
        held = 100; // truncated to 0 and refilled to the same point each time
        throw busy();
      },
      { ...fast, attempts: 3, progress: () => held },
    ).catch(() => {});
    expect(calls).toBe(4);
  });

  it('waits what Retry-After asks, and fails at once when it asks more than maxWaitMs', async () => {
    let calls = 0;
    const started = Date.now();
    await withRetry(async (n) => {
      calls++;
      if (n === 1) throw busy(300);
    }, fast);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const err = await withRetry(async () => {
      calls++;
      throw busy(61_000);
    }, fast).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(err).toMatchObject({ retryAfterMs: 61_000 });
    expect((err as Error).message).toBe(
      'x: HTTP 503: the registry asks to wait 61 s, longer than strata waits (60 s, retry.maxWaitMs)',
    );
  });

  it('stops at maxElapsedMs', async () => {
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        throw busy(100);
      },
      { ...fast, attempts: 100, maxElapsedMs: 250 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect((err as Error).message).toContain('(retry.maxElapsedMs 0.3 s)');
  });

  it('wakes from a wait with Aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 50);
    const started = Date.now();
    const err = await withRetry(
      async () => {
        throw busy(30_000);
      },
      { signal: controller.signal },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'Aborted' });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('requests with bodies (uploads)', () => {
  let bad: BadRegistry;
  let session: Session;
  beforeAll(async () => {
    bad = await startBadRegistry(await buildImage({ layers: [{ files: { a: 'b' } }] }));
    const http = createHttpClient();
    session = { http, auth: createAuthorizer({ http }), retry: fast };
    return () => http.close();
  });

  const upload = async (opened: number[]) => {
    const [host] = await registryHosts(bad.host, { plainHttp: true });
    const bytes = Buffer.from('0123456789');
    return retried(session, async () => {
      const res = await authorizedSend(session, host!, '/v2/bad/app/blobs/uploads/u1', {
        method: 'PUT',
        scope: '',
        what: 'upload',
        body: () => {
          opened.push(0);
          return Readable.from([bytes.subarray(0, 4), bytes.subarray(4)]);
        },
      });
      discard(res);
      return res.status;
    });
  };

  it('a retry after 503 sends the whole body again, from a fresh stream', async () => {
    bad.misbehave({ kind: 'status', status: 503, on: 'upload', times: 2 });
    const opened: number[] = [];
    expect(await upload(opened)).toBe(201);
    expect(opened).toHaveLength(3);
    expect(bad.requests.map((r) => [r.method, r.bodyBytes])).toEqual([
      ['PUT', 10],
      ['PUT', 10],
      ['PUT', 10],
    ]);
  });

  it('a 307 redirect re-opens the body for the next hop', async () => {
    bad.misbehave({
      kind: 'redirect',
      on: 'upload',
      times: 1,
      location: () => '/v2/bad/app/blobs/uploads/u2',
    });
    const opened: number[] = [];
    expect(await upload(opened)).toBe(201);
    expect(opened).toHaveLength(2);
    expect(bad.requests.map((r) => [r.path, r.bodyBytes])).toEqual([
      ['/v2/bad/app/blobs/uploads/u1', 10],
      ['/v2/bad/app/blobs/uploads/u2', 10],
    ]);
  });
});

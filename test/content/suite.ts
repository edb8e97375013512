import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readBlob } from '../../src/content/index.js';
import type { Info, Store } from '../../src/content/types.js';
import { isCode } from '../../src/errors.js';
import { type Digest, digestOf } from '../../src/oci/digest.js';

export interface SuiteStores {
  /** A fresh, empty store. */
  readonly store: Store;
  /** The same backing bytes seen from another namespace, where the implementation has them. */
  readonly other?: Store;
}

export interface SuiteContext {
  stores(): Promise<SuiteStores>;
  readonly namespaced: boolean;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isCode(err) ? err.code : `unexpected: ${String(err)}`;
  }
}

async function ingest(
  store: Store,
  ref: string,
  data: Buffer,
  expected = digestOf(data),
): Promise<Digest> {
  const w = await store.writer({ ref, expected, total: data.length });
  try {
    await w.write(data);
    return await w.commit({ size: data.length, expected });
  } finally {
    await w.close();
  }
}

async function bytes(store: Store, digest: Digest, options?: { offset?: number; length?: number }) {
  const chunks: Buffer[] = [];
  for await (const c of await store.reader(digest, options)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function all(store: Store, filters?: string[]): Promise<Info[]> {
  const out: Info[] = [];
  await store.walk((i) => {
    out.push(i);
  }, filters);
  return out;
}

/**
 * The content-store conformance suite (after containerd's content/testsuite): every Store
 * implementation runs it.
 */
export function contentStoreSuite(name: string, ctx: SuiteContext): void {
  describe(`content store conformance: ${name}`, () => {
    it('writes, commits and reads back a blob', async () => {
      const { store } = await ctx.stores();
      const data = randomBytes(300_000);
      const digest = await ingest(store, 'ref-1', data);
      expect(digest).toBe(digestOf(data));
      const info = await store.info(digest);
      expect(info.size).toBe(data.length);
      expect((await bytes(store, digest)).equals(data)).toBe(true);
      expect(await store.listStatuses()).toEqual([]);
    });

    it('gives AlreadyExists when committing a blob already stored, and removes the ingest', async () => {
      const { store } = await ctx.stores();
      const data = randomBytes(1000);
      await ingest(store, 'first', data);
      const w = await store.writer({ ref: 'second' });
      await w.write(data);
      expect(await codeOf(w.commit({ size: data.length, expected: digestOf(data) }))).toBe(
        'AlreadyExists',
      );
      await w.close();
      expect(await codeOf(store.status('second'))).toBe('NotFound');
      expect(await codeOf(store.writer({ ref: 'third', expected: digestOf(data) }))).toBe(
        'AlreadyExists',
      );
    });

    it('resumes an ingest after close at its offset, rebuilding the digest', async () => {
      const { store } = await ctx.stores();
      const data = randomBytes(200_000);
      const w1 = await store.writer({ ref: 'resume', total: data.length });
      await w1.write(data.subarray(0, 123_456));
      await w1.close();
      expect((await store.status('resume')).offset).toBe(123_456);
      const w2 = await store.writer({ ref: 'resume', total: data.length });
      expect(w2.offset).toBe(123_456);
      await w2.write(data.subarray(123_456));
      expect(await w2.commit({ size: data.length, expected: digestOf(data) })).toBe(digestOf(data));
      await w2.close();
    });

    it('resumes after truncate', async () => {
      const { store } = await ctx.stores();
      const data = randomBytes(50_000);
      const w = await store.writer({ ref: 'trunc' });
      await w.write(randomBytes(10_000));
      await w.truncate(0);
      expect(w.offset).toBe(0);
      expect(w.digest()).toBe(digestOf(Buffer.alloc(0)));
      await w.write(data.subarray(0, 30_000));
      await w.truncate(20_000);
      expect(w.digest()).toBe(digestOf(data.subarray(0, 20_000)));
      await w.write(data.subarray(20_000));
      await w.commit({ size: data.length, expected: digestOf(data) });
      await w.close();
      expect((await bytes(store, digestOf(data))).equals(data)).toBe(true);
    });

    it('refuses a wrong size: nothing committed, the ingest left in place', async () => {
      const { store } = await ctx.stores();
      const data = randomBytes(4096);
      const w = await store.writer({ ref: 'short' });
      await w.write(data);
      expect(await codeOf(w.commit({ size: data.length + 1, expected: digestOf(data) }))).toBe(
        'FailedPrecondition',
      );
      await w.close();
      expect(await codeOf(store.info(digestOf(data)))).toBe('NotFound');
      expect((await store.status('short')).offset).toBe(data.length);
      await store.abort('short');
      expect(await codeOf(store.status('short'))).toBe('NotFound');
    });

    it('refuses a wrong digest: nothing committed', async () => {
      const { store } = await ctx.stores();
      const data = randomBytes(4096);
      const wrong = digestOf(randomBytes(10));
      const w = await store.writer({ ref: 'wrong' });
      await w.write(data);
      expect(await codeOf(w.commit({ size: data.length, expected: wrong }))).toBe(
        'FailedPrecondition',
      );
      await w.close();
      expect(await codeOf(store.info(digestOf(data)))).toBe('NotFound');
      expect(await codeOf(store.info(wrong))).toBe('NotFound');
      expect(await all(store)).toEqual([]);
    });

    it('allows one writer per ref at a time', async () => {
      const { store } = await ctx.stores();
      const w = await store.writer({ ref: 'busy' });
      expect(await codeOf(store.writer({ ref: 'busy' }))).toBe('Unavailable');
      expect(await codeOf(store.abort('busy'))).toBe('Unavailable');
      await w.close();
      const again = await store.writer({ ref: 'busy' });
      await again.close();
    });

    it('validates digests before using them', async () => {
      const { store } = await ctx.stores();
      for (const bad of ['sha256:../../x', 'sha256:', 'md5:abc', `sha256:${'A'.repeat(64)}`]) {
        expect(await codeOf(store.info(bad as Digest))).toBe('InvalidArgument');
        expect(await codeOf(store.reader(bad as Digest))).toBe('InvalidArgument');
        expect(await codeOf(store.delete(bad as Digest))).toBe('InvalidArgument');
      }
    });

    it('reads with an offset and a length', async () => {
      const { store } = await ctx.stores();
      const data = randomBytes(10_000);
      const digest = await ingest(store, 'ranges', data);
      expect((await bytes(store, digest, { offset: 9000 })).equals(data.subarray(9000))).toBe(true);
      expect(
        (await bytes(store, digest, { offset: 100, length: 50 })).equals(data.subarray(100, 150)),
      ).toBe(true);
      expect((await bytes(store, digest, { offset: 10_000 })).length).toBe(0);
      expect(await codeOf(store.reader(digest, { offset: 10_001 }))).toBe('InvalidArgument');
      expect((await readBlob(store, digest, { maxSize: 10_000 })).equals(data)).toBe(true);
      expect(await codeOf(readBlob(store, digest, { maxSize: 9_999 }))).toBe('ResourceExhausted');
    });

    it('updates labels by fieldpath or wholesale', async () => {
      const { store } = await ctx.stores();
      const digest = await ingest(store, 'labels', randomBytes(100));
      await store.update(digest, { a: '1', b: '2' });
      expect((await store.info(digest)).labels).toEqual({ a: '1', b: '2' });
      await store.update(digest, { b: '3', c: '4', a: '' }, ['labels.b', 'labels.a']);
      expect((await store.info(digest)).labels).toEqual({ b: '3' });
      await store.update(digest, { z: '9' }, ['labels']);
      expect((await store.info(digest)).labels).toEqual({ z: '9' });
      expect(await codeOf(store.update(digestOf('missing'), { a: '1' }))).toBe('NotFound');
    });

    it('walks with filters', async () => {
      const { store } = await ctx.stores();
      const a = await ingest(store, 'a', Buffer.from('blob a'));
      const b = await ingest(store, 'b', Buffer.from('blob b'));
      const c = await ingest(store, 'c', Buffer.from('blob c'));
      await store.update(a, { kind: 'layer', 'containerd.io/gc.root': 'x' });
      await store.update(b, { kind: 'config' });
      const digests = async (filters: string[]) =>
        (await all(store, filters)).map((i) => i.digest).sort();
      expect(await digests([])).toEqual([a, b, c].sort());
      expect(await digests([`digest==${b}`])).toEqual([b]);
      expect(await digests(['labels.kind==layer'])).toEqual([a]);
      expect(await digests(['labels.kind~=^(layer|config)$'])).toEqual([a, b].sort());
      expect(await digests(['labels."containerd.io/gc.root"'])).toEqual([a]);
      expect(await digests(['labels.kind!=layer'])).toEqual([b, c].sort());
      expect(await digests(['labels.kind==layer', `digest==${c}`])).toEqual([a, c].sort());
      expect(await digests([`labels.kind==config,digest==${a}`])).toEqual([]);
    });

    it('deletes blobs', async () => {
      const { store } = await ctx.stores();
      const digest = await ingest(store, 'del', randomBytes(10));
      await store.delete(digest);
      expect(await codeOf(store.info(digest))).toBe('NotFound');
      expect(await codeOf(store.delete(digest))).toBe('NotFound');
    });

    it('takes { signal } in every role: an aborted call fails Aborted and changes nothing', async () => {
      const { store } = await ctx.stores();
      const digest = await ingest(store, 'sig', randomBytes(300_000));
      const aborted = AbortSignal.abort();
      const signal = { signal: aborted };
      expect(await codeOf(store.info(digest, signal))).toBe('Aborted');
      expect(await codeOf(store.reader(digest, signal))).toBe('Aborted');
      expect(await codeOf(store.update(digest, { a: 'b' }, [], signal))).toBe('Aborted');
      expect(await codeOf(store.walk(() => {}, [], signal))).toBe('Aborted');
      expect(await codeOf(store.delete(digest, signal))).toBe('Aborted');
      expect(await codeOf(store.listStatuses(signal))).toBe('Aborted');
      expect(await codeOf(store.status('sig', signal))).toBe('Aborted');
      expect(await codeOf(store.abort('sig', signal))).toBe('Aborted');
      expect((await store.info(digest)).labels).toEqual({});
      // A signal firing mid-read destroys the stream with Aborted.
      const controller = new AbortController();
      const stream = await store.reader(digest, { signal: controller.signal, offset: 0 });
      const read = (async () => {
        for await (const _ of stream) controller.abort();
      })();
      expect(await codeOf(read)).toBe('Aborted');
    });

    it.skipIf(!ctx.namespaced)(
      'isolates visibility between namespaces, sharing the bytes',
      async () => {
        const { store, other } = await ctx.stores();
        if (!other) throw new Error('a namespaced suite must provide the other namespace');
        const data = randomBytes(5000);
        const digest = await ingest(store, 'shared', data);
        expect(await codeOf(other.info(digest))).toBe('NotFound');
        expect(await codeOf(other.reader(digest))).toBe('NotFound');
        expect(await all(other)).toEqual([]);
        // Opening a writer for bytes already on disk records them without a transfer.
        expect(await codeOf(other.writer({ ref: 'x', expected: digest, total: data.length }))).toBe(
          'AlreadyExists',
        );
        expect((await bytes(other, digest)).equals(data)).toBe(true);
        await other.delete(digest);
        expect((await bytes(store, digest)).equals(data)).toBe(true);
        // Ingest refs are per namespace too.
        const w = await store.writer({ ref: 'same-ref' });
        const w2 = await other.writer({ ref: 'same-ref' });
        await Promise.all([w.close(), w2.close()]);
        expect((await other.listStatuses()).map((s) => s.ref)).toEqual(['same-ref']);
      },
    );
  });
}

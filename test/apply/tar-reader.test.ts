import { describe, expect, it } from 'vitest';
import { createTarReader, type TarEntry } from '../../src/apply/tar-reader.js';
import { isCode } from '../../src/errors.js';
import {
  buildTar,
  paxRecord,
  type TarEntrySpec,
  type TarOptions,
} from '../fixtures/tar-builder.js';

interface Parsed {
  readonly entry: TarEntry;
  readonly data: Buffer;
}

/** Parses `tar` pushed in chunks of `chunk` bytes; returns the entries and their data. */
function parse(tar: Uint8Array, chunk = tar.length): { entries: Parsed[]; done: boolean } {
  const entries: Parsed[] = [];
  const reader = createTarReader((entry) => {
    const parts: Buffer[] = [];
    entries.push({ entry, data: Buffer.alloc(0) });
    const index = entries.length - 1;
    return {
      write: (c) => parts.push(Buffer.from(c)),
      end: () => {
        entries[index] = { entry, data: Buffer.concat(parts) };
      },
    };
  });
  for (let i = 0; i < tar.length && !reader.done; i += chunk) {
    reader.push(tar.subarray(i, i + chunk));
  }
  reader.end();
  return { entries, done: reader.done };
}

const tarOf = (entries: TarEntrySpec[], options?: TarOptions) => buildTar(entries, options);

function parseError(tar: Uint8Array): unknown {
  try {
    parse(tar);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('tar reader', () => {
  it('reads every entry type with its metadata, whatever the chunk size', () => {
    const tar = tarOf([
      { name: 'dir/', mode: 0o2775, uid: 1000, gid: 50, mtime: 1_600_000_000 },
      { name: 'dir/file', content: 'hello', mode: 0o4755, uid: 1, gid: 2 },
      { name: 'dir/link', type: 'symlink', linkname: '../x' },
      { name: 'dir/hard', type: 'link', linkname: 'dir/file' },
      { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 },
      { name: 'fifo', type: 'fifo' },
    ]);
    for (const chunk of [1, 7, 511, 512, 513, 4096, tar.length]) {
      const { entries } = parse(tar, chunk);
      expect(entries.map((e) => [e.entry.name, e.entry.type])).toEqual([
        ['dir/', 'directory'],
        ['dir/file', 'file'],
        ['dir/link', 'symlink'],
        ['dir/hard', 'link'],
        ['dev/null', 'char'],
        ['dev/sda', 'block'],
        ['fifo', 'fifo'],
      ]);
      const [dir, file, link, hard, dev] = entries;
      expect(dir?.entry).toMatchObject({ mode: 0o2775, uid: 1000, gid: 50, mtime: 1_600_000_000 });
      expect(file?.entry).toMatchObject({ mode: 0o4755, uid: 1, gid: 2, size: 5 });
      expect(file?.data.toString()).toBe('hello');
      expect(link?.entry.linkname).toBe('../x');
      expect(hard?.entry.linkname).toBe('dir/file');
      expect(dev?.entry).toMatchObject({ devmajor: 1, devminor: 3, mode: 0o666 });
    }
  });

  it('reads PAX and GNU long names, base-256 numbers and binary xattr values', () => {
    const long = `${'a'.repeat(120)}/${'b'.repeat(120)}/file`;
    const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex');
    const { entries } = parse(
      tarOf([
        { name: long, content: 'x', xattrs: { 'security.capability': capability } },
        { name: `gnu/${long}`, longNames: 'gnu', type: 'symlink', linkname: `/${long}` },
        { name: 'big-ids', uid: 3_000_000, gid: 0o7777777 + 2, base256: true, content: 'yz' },
        { name: 'ustar-link', type: 'link', linkname: long },
        { name: 'utf8-é', content: '' },
      ]),
    );
    expect(entries[0]?.entry.name).toBe(long);
    expect(entries[0]?.entry.xattrs?.get('security.capability')).toEqual(capability);
    expect(entries[1]?.entry).toMatchObject({ name: `gnu/${long}`, linkname: `/${long}` });
    expect(entries[2]?.entry).toMatchObject({ uid: 3_000_000, gid: 0o7777777 + 2, size: 2 });
    expect(entries[2]?.data.toString()).toBe('yz');
    expect(entries[3]?.entry.linkname).toBe(long);
    expect(entries[4]?.entry).toMatchObject({ name: 'utf8-é', lossyName: false });
  });

  it('takes uid, gid, mtime, atime and size from PAX records', () => {
    const { entries } = parse(
      tarOf([
        {
          name: 'f',
          content: 'abc',
          pax: { uid: '70000', gid: '80000', mtime: '1700000000.5', atime: '1600000000' },
        },
      ]),
    );
    expect(entries[0]?.entry).toMatchObject({
      uid: 70000,
      gid: 80000,
      mtime: 1700000000.5,
      atime: 1600000000,
    });
  });

  it('gives header-only types no data, whatever their size field says (as Go does)', () => {
    const { entries } = parse(
      tarOf([
        { name: 'l', type: 'symlink', linkname: 'x', declaredSize: 0 },
        { name: 'after', content: 'ok' },
      ]),
    );
    expect(entries.map((e) => e.entry.size)).toEqual([0, 2]);
  });

  it('stops at two zero blocks and ignores what follows; accepts one zero block then EOF', () => {
    const trailer = Buffer.from('trailing garbage that is not a tar header at all');
    const after = parse(tarOf([{ name: 'a', content: '1' }], { trailer }));
    expect(after.done).toBe(true);
    expect(after.entries).toHaveLength(1);
    expect(parse(tarOf([{ name: 'a' }], { end: 1 })).entries).toHaveLength(1);
    expect(parse(tarOf([{ name: 'a' }], { end: 0 })).entries).toHaveLength(1);
    expect(parse(tarOf([{ name: 'a' }], { recordPadding: true })).done).toBe(true);
  });

  it.each<[string, () => Uint8Array]>([
    ['a bad checksum', () => tarOf([{ name: 'a', badChecksum: true }])],
    [
      'a zero block followed by a header',
      () => Buffer.concat([tarOf([{ name: 'a' }], { end: 1 }), tarOf([{ name: 'b' }])]),
    ],
    ['a truncated entry', () => tarOf([{ name: 'a', content: 'x'.repeat(1000) }]).subarray(0, 900)],
    ['a truncated header', () => tarOf([{ name: 'a' }]).subarray(0, 300)],
    ['a GNU sparse file', () => tarOf([{ name: 's', typeflag: 'S' }])],
    ['an unknown type', () => tarOf([{ name: 's', typeflag: 'Z' }])],
    [
      'a PAX header without an entry',
      () => tarOf([{ name: 'x', typeflag: 'x', content: '' }], { end: 0 }),
    ],
    ['a malformed PAX record', () => tarOf([{ name: 'p', pax: { uid: 'not-a-number' } }])],
    [
      'a PAX record whose length lies',
      () => {
        const tar = tarOf([{ name: 'p', pax: { comment: 'abc' } }]);
        const at = tar.indexOf(paxRecord('comment', Buffer.from('abc')));
        tar.write('99', at, 'latin1');
        return tar;
      },
    ],
  ])('fails cleanly on %s', (_name, make) => {
    const err = parseError(make());
    expect(isCode(err, 'InvalidArgument'), String(err)).toBe(true);
  });
});

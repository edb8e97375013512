import { describe, expect, it } from 'vitest';
import {
  contentDigest,
  lengthBeyond,
  parseContentRange,
  parseLength,
  parseRetryAfter,
  quote,
} from '../../src/registry/headers.js';

/** Header values as a hostile registry might send them: each parsed strictly. */
describe('registry headers', () => {
  it('parseLength takes decimal digits only', () => {
    expect(parseLength('1234')).toBe(1234);
    expect(parseLength(['5', '6'])).toBe(5);
    for (const bad of ['', '-1', '1e3', '0x10', '1.5', ' ', 'abc', undefined])
      expect(parseLength(bad), String(bad)).toBeUndefined();
    expect(parseLength('9'.repeat(400))).toBe(Number.POSITIVE_INFINITY);
  });

  it('lengthBeyond names a Content-Length over the room, as sent', () => {
    expect(lengthBeyond('11', 10, 'blob x from h')).toBe(
      'blob x from h: Content-Length 11 is more than the 10 bytes expected',
    );
    expect(lengthBeyond('10', 10, 'w')).toBeUndefined();
    expect(lengthBeyond('abc', 10, 'w')).toBeUndefined();
  });

  it('parseContentRange', () => {
    expect(parseContentRange('bytes 10-19/20')).toEqual({ start: 10, end: 19, total: 20 });
    expect(parseContentRange('bytes 10-19/*')).toEqual({ start: 10, end: 19, total: undefined });
    for (const bad of [
      'bytes 10-19/15',
      'bytes 19-10/20',
      'bytes=10-19/20',
      'bytes 10-/20',
      'items 1-2/3',
      'bytes */20',
      '',
      undefined,
    ])
      expect(parseContentRange(bad), String(bad)).toBeUndefined();
  });

  it('parseRetryAfter: delay-seconds and HTTP-dates, nothing else', () => {
    const now = Date.parse('Wed, 02 Dec 2026 12:00:00 GMT');
    expect(parseRetryAfter('120', now)).toEqual({ ms: 120_000, quoted: '"120"' });
    expect(parseRetryAfter('Wed, 02 Dec 2026 12:01:00 GMT', now)?.ms).toBe(60_000);
    expect(parseRetryAfter('Wednesday, 02-Dec-26 12:01:00 GMT', now)?.ms).toBe(60_000);
    expect(parseRetryAfter('Wed Dec  2 12:01:00 2026', now)?.ms).toBeGreaterThan(0);
    expect(parseRetryAfter('Tue, 01 Dec 2026 12:00:00 GMT', now)?.ms).toBe(0);
    for (const bad of ['-5', '1.5', 'NaN', 'soon', '5 s', 'Sun, 99 Foo 2026', '', undefined])
      expect(parseRetryAfter(bad, now), String(bad)).toBeUndefined();
    expect(parseRetryAfter('9'.repeat(30), now)?.ms).toBeGreaterThan(1e30);
  });

  it('contentDigest refuses what is not one valid digest', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(contentDigest(undefined, 'w')).toBeUndefined();
    expect(contentDigest(d, 'w')).toBe(d);
    expect(contentDigest([d, ` ${d}`], 'w')).toBe(d);
    expect(() => contentDigest('sha256:abc', 'm from h')).toThrow(
      'm from h: Docker-Content-Digest "sha256:abc" is not a valid digest',
    );
    expect(() => contentDigest([d, `sha256:${'b'.repeat(64)}`], 'w')).toThrow(/names several/);
    expect(() => contentDigest('md5:abc', 'w')).toThrow(
      expect.objectContaining({ code: 'FailedPrecondition' }),
    );
  });

  it('quote makes a value printable and short', () => {
    expect(quote('a"b\\c\u0007\u009b')).toBe('"a\\x22b\\x5cc\\x07\\x9b"');
    expect(quote('x'.repeat(200))).toBe(`"${'x'.repeat(80)}..."`);
  });
});

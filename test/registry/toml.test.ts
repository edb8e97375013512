import { describe, expect, it } from 'vitest';
import { parseToml } from '../../src/registry/toml.js';

describe('parseToml (hosts.toml subset)', () => {
  it('reads a containerd hosts.toml', () => {
    const doc = parseToml(`
# mirrors for docker.io
server = "https://registry-1.docker.io"   # upstream
skip_verify = false

[host."https://mirror-a.example:5000"]
  capabilities = ["pull", "resolve"]
  ca = ["/etc/ca.pem", 'relative.pem']
  client = [["/c.cert", "/c.key"]]
  [host."https://mirror-a.example:5000".header]
    x-custom = "1"
    x-multi = ["a", "b"]

[host."http://mirror-b"]
  capabilities = [
    "pull",   # trailing comma next
  ]
  override_path = true
  retries = 3
  weight = 1.5
  opts = { a = 1, b.c = "d" }
`);
    expect(doc.server).toBe('https://registry-1.docker.io');
    expect(doc.skip_verify).toBe(false);
    const hosts = doc.host as Record<string, Record<string, unknown>>;
    expect(Object.keys(hosts)).toEqual(['https://mirror-a.example:5000', 'http://mirror-b']);
    expect(hosts['https://mirror-a.example:5000']).toEqual({
      capabilities: ['pull', 'resolve'],
      ca: ['/etc/ca.pem', 'relative.pem'],
      client: [['/c.cert', '/c.key']],
      header: { 'x-custom': '1', 'x-multi': ['a', 'b'] },
    });
    expect(hosts['http://mirror-b']).toEqual({
      capabilities: ['pull'],
      override_path: true,
      retries: 3,
      weight: 1.5,
      opts: { a: 1, b: { c: 'd' } },
    });
  });

  it('reads strings, escapes, dotted keys and arrays of tables', () => {
    const doc = parseToml(
      'a.b = "x\\ty\\u00e9\\"" \nlit = \'c:\\\\path\'\nml = """\nline1\nline2"""\n[[t]]\nn = 1\n[[t]]\nn = 0x10\n',
    );
    expect(doc).toEqual({
      a: { b: 'x\ty\u00e9"' },
      lit: 'c:\\\\path',
      ml: 'line1\nline2',
      t: [{ n: 1 }, { n: 16 }],
    });
  });

  it.each([
    ['key = ', /line 1: expected a value/],
    ['a = 1\na = 2', /line 2: duplicate key "a"/],
    ['a = "open', /unterminated string/],
    ['[table\nx = 1', /expected "." or "]"/],
    ['a = 1 b = 2', /expected the end of the line/],
    ['a = 1979-05-27', /unsupported value/],
  ])('refuses %j', (text, message) => {
    expect(() => parseToml(text, 'hosts.toml')).toThrow(message);
  });
});

import { describe, expect, it } from 'vitest';
import type { Platform } from '../../src/oci/descriptor.js';
import {
  compatiblePlatforms,
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  onlyPlatform,
  parsePlatform,
} from '../../src/oci/platform.js';

const p = (s: string): Platform => {
  const [os, architecture, variant] = s.split('/') as [string, string, string?];
  return { os, architecture, ...(variant ? { variant } : {}) };
};

describe('platforms', () => {
  it.each([
    ['linux/x86_64', 'linux/amd64'],
    ['linux/x86-64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['linux/i386', 'linux/386'],
    ['Linux/AMD64', 'linux/amd64'],
    ['macos/arm64', 'darwin/arm64'],
  ])('normalizes %s to %s', (input, expected) => {
    expect(formatPlatform(parsePlatform(input))).toBe(expected);
  });

  it('parses an architecture alone as this host OS', () => {
    expect(parsePlatform('arm64').os).toBe(hostPlatform().os);
    expect(() => parsePlatform('linux//amd64')).toThrow(/expected os\/arch/);
    expect(() => parsePlatform('a/b/c/d')).toThrow(/InvalidArgument|expected/);
  });

  it('lists what a platform can run, best first (containerd vectors)', () => {
    const f = (s: string) =>
      compatiblePlatforms(p(s)).map((x) => formatPlatform(normalizePlatform(x)));
    expect(f('linux/arm/v7')).toEqual(['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
    expect(f('linux/arm64')).toEqual([
      'linux/arm64',
      'linux/arm/v8',
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/arm/v5',
    ]);
    expect(f('linux/amd64')).toEqual(['linux/amd64', 'linux/386']);
    expect(f('linux/amd64/v3')).toEqual([
      'linux/amd64/v3',
      'linux/amd64/v2',
      'linux/amd64',
      'linux/386',
    ]);
    expect(f('linux/arm64/v8.2')).toEqual([
      'linux/arm64/v8.2',
      'linux/arm64/v8.1',
      'linux/arm64',
      'linux/arm/v8',
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/arm/v5',
    ]);
  });

  it('matches and orders like platforms.Only', () => {
    const m = onlyPlatform(p('linux/arm/v7'));
    expect(m.match(p('linux/arm/v6'))).toBe(true);
    expect(m.match(p('linux/arm/v8'))).toBe(false);
    expect(m.match(p('linux/armhf'))).toBe(true);
    expect(m.match(p('windows/arm/v7'))).toBe(false);
    expect(m.less(p('linux/arm/v7'), p('linux/arm/v6'))).toBe(true);
    expect(m.less(p('linux/arm/v5'), p('linux/arm/v6'))).toBe(false);
    const amd = onlyPlatform(p('linux/x86_64'));
    expect(amd.match(p('linux/amd64'))).toBe(true);
    expect(amd.match(p('linux/386'))).toBe(true);
    expect(amd.match(p('linux/arm64'))).toBe(false);
    expect(amd.description).toBe('linux/amd64');
  });
});

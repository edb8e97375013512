import { describe, expect, it } from 'vitest';
import { parseChallenges } from '../../src/registry/auth.js';

describe('parseChallenges', () => {
  it('reads bearer and basic challenges', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/alpine:pull',
        },
      },
    ]);
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
  });

  it('reads several challenges, unquoted values and escapes', () => {
    expect(
      parseChallenges(['Basic realm=x, Bearer realm="a\\"b", error=insufficient_scope']),
    ).toEqual([
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'bearer', params: { realm: 'a"b', error: 'insufficient_scope' } },
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { familiarName, formatReference, parseReference } from '../../src/oci/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.20', 'docker.io/library/alpine:3.20'],
    ['library/alpine', 'docker.io/library/alpine:latest'],
    ['user/app:v1', 'docker.io/user/app:v1'],
    ['docker.io/alpine', 'docker.io/library/alpine:latest'],
    ['index.docker.io/library/alpine:edge', 'docker.io/library/alpine:edge'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app:dev', 'localhost:5000/app:dev'],
    ['127.0.0.1:5000/a/b/c:t', '127.0.0.1:5000/a/b/c:t'],
    ['ghcr.io/org/img', 'ghcr.io/org/img:latest'],
    [`alpine@${D}`, `docker.io/library/alpine@${D}`],
    [`host:1/r:tag@${D}`, `host:1/r:tag@${D}`],
    ['Registry/app', 'Registry/app:latest'],
    ['a/b__c/d-e.f_g:1', 'docker.io/a/b__c/d-e.f_g:1'],
  ])('%s -> %s', (input, expected) => {
    expect(formatReference(parseReference(input))).toBe(expected);
  });

  it('splits the parts', () => {
    expect(parseReference(`reg.example:8443/team/app:1.0@${D}`)).toEqual({
      domain: 'reg.example:8443',
      path: 'team/app',
      tag: '1.0',
      digest: D,
    });
  });

  it.each([
    ['', /empty/],
    ['Alpine', /uppercase in path "Alpine"/],
    ['alpine:', /invalid tag ""/],
    [`alpine:${'x'.repeat(129)}`, /invalid tag/],
    ['alpine@sha256:abc', /invalid digest "sha256:abc"/],
    ['a//b', /invalid path/],
    ['-host.com/app', /invalid domain "-host.com"/],
    ['app/-x', /invalid path/],
    [`host.com/${'a'.repeat(260)}`, /longer than 255/],
  ])('%s is refused naming the part at fault', (input, message) => {
    expect(() => parseReference(input)).toThrow(message);
    try {
      parseReference(input);
    } catch (err) {
      expect(err).toMatchObject({ code: 'InvalidArgument' });
    }
  });

  it('shows familiar names like docker', () => {
    expect(familiarName(parseReference('alpine'))).toBe('alpine:latest');
    expect(familiarName(parseReference('user/app:v1'))).toBe('user/app:v1');
    expect(familiarName(parseReference('ghcr.io/x/y'))).toBe('ghcr.io/x/y:latest');
  });
});

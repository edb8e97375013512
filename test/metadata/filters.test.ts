import { describe, expect, it } from 'vitest';
import { isCode } from '../../src/errors.js';
import { labelledAdaptor, parseFilters } from '../../src/filters.js';

const record = labelledAdaptor(
  { name: 'docker.io/library/alpine:3.20', 'target.digest': 'sha256:abc' },
  { 'containerd.io/gc.root': '2024', team: 'infra', empty: '' },
);

describe('filters (containerd syntax)', () => {
  it.each([
    [[], true],
    [['name==docker.io/library/alpine:3.20'], true],
    [['name!=docker.io/library/alpine:3.20'], false],
    [['name~=alpine:3\\.2'], true],
    [['name~=^alpine'], false],
    [['target.digest==sha256:abc'], true],
    [['labels.team==infra'], true],
    [['labels.team'], true],
    [['labels.missing'], false],
    [['labels.empty'], true],
    [['labels."containerd.io/gc.root"==2024'], true],
    [['labels."containerd.io/gc.root"~="^20"'], true],
    [['labels.team==infra,name~=alpine'], true],
    [['labels.team==infra,name~=busybox'], false],
    [['labels.team==other', 'name~=alpine'], true],
    [['name=="docker.io/library/alpine:3.20"'], true],
  ] as const)('%j matches: %s', (filters, expected) => {
    expect(parseFilters(filters).match(record)).toBe(expected);
  });

  it.each(['', 'labels.', 'name=~x', 'labels."unterminated', 'name~=(', '==x'])(
    'rejects %j with InvalidArgument',
    (filter) => {
      let err: unknown;
      try {
        parseFilters([filter]);
      } catch (e) {
        err = e;
      }
      expect(isCode(err, 'InvalidArgument')).toBe(true);
    },
  );
});

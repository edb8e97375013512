import type { FetchOptions } from '../../src/fetch/index.js';
import type { Strata } from '../../src/strata/index.js';

/** The pull operation without unpacking: what these registry tests exercise. */
export function pull(strata: Strata, ref: string, options: FetchOptions = {}) {
  return strata.pull(ref, { ...options, unpack: false });
}

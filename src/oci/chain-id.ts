import { createHash } from 'node:crypto';
import type { Digest } from './digest.js';

/**
 * The chainIDs of a layer stack: chainID(L0) = diffID(L0), chainID(Ln) =
 * sha256(chainID(Ln-1) + " " + diffID(Ln)). A committed snapshot is named by its chainID.
 * https://github.com/opencontainers/image-spec/blob/main/config.md#layer-chainid
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const diffId of diffIds) {
    const parent = out[out.length - 1];
    out.push(
      parent === undefined
        ? diffId
        : `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`,
    );
  }
  return out;
}

/** The chainID of the whole stack (the top layer's). */
export function chainId(diffIds: readonly Digest[]): Digest | undefined {
  return chainIds(diffIds).at(-1);
}

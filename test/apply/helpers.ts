import { mkdirSync } from 'node:fs';
import { applyLayer } from '../../src/apply/index.js';
import type { ApplyOptions, ApplyResult } from '../../src/apply/types.js';
import { buildTar, type TarEntrySpec, type TarOptions } from '../fixtures/tar-builder.js';

/** Yields `data` in chunks of `size` bytes (odd sizes exercise the parser's boundaries). */
export async function* chunked(data: Uint8Array, size = 4093): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** Builds a tar of `entries` and applies it to `target` (created if missing). */
export async function applyEntries(
  entries: readonly TarEntrySpec[],
  target: string,
  options: ApplyOptions,
  tar: TarOptions = {},
): Promise<ApplyResult> {
  mkdirSync(target, { recursive: true });
  return applyLayer(chunked(buildTar(entries, tar)), target, options);
}

/** Collects warnings into an array; pass as `onWarning`. */
export function warnings(): { readonly list: string[]; readonly onWarning: (m: string) => void } {
  const list: string[] = [];
  return { list, onWarning: (m) => list.push(m) };
}

import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fromSystem, throwIfAborted } from '../errors.js';
import type { Usage } from './types.js';

/**
 * Disk used by the tree at `dir` (itself included), like `du`: allocated blocks, each
 * inode counted once however many links it has. Takes time proportional to the tree.
 * @throws NotFound; Aborted
 */
export async function diskUsage(dir: string, signal?: AbortSignal): Promise<Usage> {
  const seen = new Set<string>();
  let size = 0;
  const visit = async (path: string): Promise<void> => {
    throwIfAborted(signal);
    const st = await lstat(path, { bigint: true });
    const id = `${st.dev}:${st.ino}`;
    if (!seen.has(id)) {
      seen.add(id);
      size += Number(st.blocks) * 512;
    }
    if (!st.isDirectory()) return;
    // One directory at a time keeps the walk's memory bounded by the tree's depth.
    for (const name of await readdir(path)) await visit(join(path, name));
  };
  try {
    await visit(dir);
  } catch (err) {
    throw fromSystem(err, `usage of ${dir}`);
  }
  return { size, inodes: seen.size };
}

import { createHash } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { type FileLock, tryFileLock } from '../sys/index.js';

/**
 * Leases owned by a running process. An operation's lease (pull, unpack, import) expires
 * after 24 h, but a process killed mid-way never deletes it, and what it left (a partial
 * snapshot, a half-written ingest) would wait a day for gc. So the process holds a file
 * lock for its lease's lifetime, taken before the lease exists and dropped after it is
 * deleted; a lease labelled as owned whose lock is free belongs to a dead process, and gc
 * treats it as expired. The kernel drops the lock when its holder dies, whatever killed it.
 */

function lockPath(root: string, namespace: string, id: string): string {
  const name = createHash('sha256').update(`${namespace}\0${id}`).digest('hex');
  return join(root, 'locks', 'leases', name);
}

/** Takes the owner lock of a lease about to be created (its id is fresh: never contended). */
export function holdLease(root: string, namespace: string, id: string): FileLock {
  const path = lockPath(root, namespace, id);
  const lock = tryFileLock(path);
  if (!lock) throw fail('Internal', `lease lock ${path}: held by another process`);
  return {
    release() {
      try {
        unlinkSync(path);
      } catch {}
      lock.release();
    },
  };
}

/** True when no process holds the lease's owner lock (its owner died or finished). */
export function ownerGone(root: string, namespace: string, id: string): boolean {
  const path = lockPath(root, namespace, id);
  const lock = tryFileLock(path);
  if (!lock) return false;
  try {
    unlinkSync(path);
  } catch {}
  lock.release();
  return true;
}

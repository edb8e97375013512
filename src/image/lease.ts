import { isCode } from '../errors.js';
import type { Strata } from '../root.js';

/** containerd's default: an operation's lease outlives any sane operation. */
export const OPERATION_LEASE_MS = 24 * 3600 * 1000;

/**
 * Runs `fn` with a view of `strata` whose stores hold everything they create under a
 * fresh lease (24 h), deleted when `fn` settles. Garbage collection running meanwhile, in
 * any process, keeps what the operation wrote before it recorded its result; a process that
 * dies leaves the lease to expire.
 */
export async function underLease<T>(
  strata: Strata,
  operation: string,
  fn: (leased: Strata) => Promise<T>,
): Promise<T> {
  if (strata.lease !== undefined) return fn(strata); // already held by the caller's lease
  const lease = strata.leases.create({
    expiresInMs: OPERATION_LEASE_MS,
    labels: { 'strata.io/operation': operation.slice(0, 1000) },
  });
  const release = () => {
    try {
      strata.leases.delete(lease.id);
    } catch (err) {
      if (!isCode(err, 'NotFound')) throw err;
    }
  };
  let result: T;
  try {
    result = await fn(strata.withLease(lease.id));
  } catch (err) {
    // Best effort: the operation's own error is the one to report (on a full disk even
    // this deletion can fail; the lease then expires on its own).
    try {
      release();
    } catch {}
    throw err;
  }
  release();
  return result;
}

import { isCode } from '../errors.js';
import { holdLease } from '../gc/index.js';
import { OPERATION_LABEL, OWNER_LABEL, OWNER_PROCESS } from '../labels.js';
import { type Lease, newLeaseId } from '../metadata/index.js';
import type { Strata } from './types.js';

/** containerd's default: an operation's lease outlives any sane operation. */
export const OPERATION_LEASE_MS = 24 * 3600 * 1000;

/**
 * Runs `fn` with a view of `strata` whose stores hold everything they create under a
 * fresh lease (24 h), deleted when `fn` settles. Garbage collection running meanwhile, in
 * any process, keeps what the operation wrote before it recorded its result. The process
 * owns the lease through a file lock: once it dies, gc treats the lease as expired and
 * frees what the operation left half-made (see gc/owners.ts).
 */
export async function underLease<T>(
  strata: Strata,
  operation: string,
  fn: (leased: Strata) => Promise<T>,
): Promise<T> {
  if (strata.lease !== undefined) return fn(strata); // already held by the caller's lease
  // The owner lock comes first and goes last: a live lease's lock is always held.
  const id = newLeaseId();
  const owner = holdLease(strata.root, strata.namespace, id);
  let lease: Lease;
  try {
    lease = strata.leases.create({
      id,
      expiresInMs: OPERATION_LEASE_MS,
      labels: {
        [OPERATION_LABEL]: operation.slice(0, 1000),
        [OWNER_LABEL]: OWNER_PROCESS,
      },
    });
  } catch (err) {
    owner.release();
    throw err;
  }
  const release = () => {
    try {
      strata.leases.delete(lease.id);
    } catch (err) {
      if (!isCode(err, 'NotFound')) throw err;
    } finally {
      owner.release(); // a lease left behind is now one gc treats as expired
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

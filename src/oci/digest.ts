import { createHash, type Hash } from 'node:crypto';
import { fail } from '../errors.js';

/**
 * A content digest `algorithm:hex`. Only sha256 (and sha512, for reading) are accepted;
 * a Digest is always validated before it becomes part of a URL or a path.
 * See https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests
 */
export type Digest = `sha256:${string}` | `sha512:${string}`;

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const HEX = /^[a-f0-9]+$/;

/** True when `value` is a well-formed sha256 or sha512 digest with lowercase hex. */
export function isDigest(value: unknown): value is Digest {
  if (typeof value !== 'string') return false;
  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return false;
  return hex.length === HEX_LENGTH[algorithm] && HEX.test(hex);
}

/**
 * Validates and returns `value` as a Digest.
 * @throws InvalidArgument naming `what` when the digest is malformed.
 */
export function parseDigest(value: unknown, what = 'digest'): Digest {
  if (isDigest(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : typeof value;
  throw fail('InvalidArgument', `${what}: invalid digest ${shown}`);
}

export function digestAlgorithm(digest: Digest): DigestAlgorithm {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** The hex part of a validated digest. */
export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

/** A short form for humans: `sha256:0123456789ab`. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest.slice(0, 12) : digest.slice(0, colon + 13);
}

/** An incremental hasher that yields a Digest. */
export interface Digester {
  update(chunk: Uint8Array): void;
  digest(): Digest;
}

export function digester(algorithm: DigestAlgorithm = 'sha256'): Digester {
  const hash: Hash = createHash(algorithm);
  return {
    update: (chunk) => {
      hash.update(chunk);
    },
    digest: () => `${algorithm}:${hash.digest('hex')}` as Digest,
  };
}

/** The sha256 digest of bytes or a string (UTF-8). */
export function digestOf(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

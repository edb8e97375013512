import { fail } from '../errors.js';
import { type Digest, isDigest } from '../oci/index.js';

/**
 * Reading the headers strata trusts from a registry, strictly: a value is either well
 * formed, or refused with an error that names the header and quotes it (made printable and
 * short: it comes from the network), or ignored where the header is only a hint. Nothing
 * here is lenient the way `Number()` or `Date.parse()` are (`Number(' 1e3 ')` is 1000,
 * `Date.parse('-5')` is a date).
 */
export type HeaderValue = string | readonly string[] | undefined;

/** The first value of a header that may repeat. */
export function single(value: HeaderValue): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/** C0 and C1 controls, DEL, and the quote and backslash that would make the quoting ambiguous. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f"\\]/g;

/** A header value for a message: quoted, control characters escaped, at most 80 characters. */
export function quote(value: string): string {
  const short = value.length > 80 ? `${value.slice(0, 80)}...` : value;
  const hex = (c: string) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  return `"${short.replace(UNPRINTABLE, hex)}"`;
}

/**
 * A non-negative decimal integer (Content-Length), or undefined when absent or malformed.
 * Too many digits give a huge number (maybe Infinity), which every size check refuses.
 */
export function parseLength(value: HeaderValue): number | undefined {
  const text = single(value)?.trim();
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * A Content-Length announcing more than the `room` bytes expected.
 * @returns the message naming it, or undefined when it is absent, malformed or fits.
 */
export function lengthBeyond(value: HeaderValue, room: number, where: string): string | undefined {
  const declared = parseLength(value);
  if (declared === undefined || declared <= room) return undefined;
  return `${where}: Content-Length ${single(value)?.trim()} is more than the ${room} bytes expected`;
}

export interface ContentRange {
  readonly start: number;
  readonly end: number;
  /** The whole representation's size, or undefined for `*`. */
  readonly total: number | undefined;
}

/** `bytes <start>-<end>/<total|*>` (RFC 9110 14.4), or undefined when malformed. */
export function parseContentRange(value: HeaderValue): ContentRange | undefined {
  const m = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/.exec(single(value)?.trim() ?? '');
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (end < start || (total !== undefined && end >= total)) return undefined;
  return { start, end, total };
}

export interface RetryAfter {
  /** The wait asked for, in ms (0 for a date in the past). */
  readonly ms: number;
  /** The header as sent, quoted for messages. */
  readonly quoted: string;
}

const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /;

/**
 * `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 10.2.3), or undefined when
 * absent or malformed (negative, fractional, not a date): then strata's own backoff applies.
 */
export function parseRetryAfter(value: HeaderValue, now = Date.now()): RetryAfter | undefined {
  const text = single(value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return { ms: Number(text) * 1000, quoted: quote(text) };
  const date = HTTP_DATE.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(date)) return undefined;
  return { ms: Math.max(0, date - now), quoted: quote(text) };
}

/**
 * The `Docker-Content-Digest` of an answer, undefined when absent.
 * @throws FailedPrecondition naming `where` when it is not a valid digest, or repeated with
 *   different values (containerd refuses it too).
 */
export function contentDigest(value: HeaderValue, where: string): Digest | undefined {
  const values = value === undefined ? [] : typeof value === 'string' ? [value] : [...value];
  const distinct = [...new Set(values.map((v) => v.trim()))];
  if (distinct.length === 0) return undefined;
  const [first] = distinct;
  if (distinct.length > 1) {
    const values = distinct.map(quote).join(', ');
    throw fail(
      'FailedPrecondition',
      `${where}: Docker-Content-Digest ${values} names several digests`,
    );
  }
  if (!isDigest(first)) {
    throw fail(
      'FailedPrecondition',
      `${where}: Docker-Content-Digest ${quote(first!)} is not a valid digest`,
    );
  }
  return first;
}

/**
 * The one error type strata throws. Callers match on `code`, never on the message.
 *
 * Codes follow containerd's errdefs and say what the caller should do:
 * - `NotFound`: the thing named does not exist.
 * - `AlreadyExists`: it exists; for content commits this means success.
 * - `FailedPrecondition`: the state forbids the operation (a namespace not empty,
 *   a snapshot with children, a size or digest that did not match).
 * - `InvalidArgument`: the input is malformed (a digest, a reference, a tar entry).
 * - `Unavailable`: busy or unreachable now; retrying later may succeed (a locked ingest).
 * - `Unauthenticated` / `PermissionDenied`: credentials missing or refused.
 * - `Aborted`: cancelled by an AbortSignal.
 * - `Internal`: a bug or an unexpected system failure.
 *
 * Messages are lowercase, subject first, and name the digest, ref or path at fault.
 * They never carry credentials.
 */
export type ErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'InvalidArgument'
  | 'Unavailable'
  | 'Unauthenticated'
  | 'PermissionDenied'
  | 'ResourceExhausted'
  | 'Aborted'
  | 'Internal';

export class StrataError extends Error {
  override readonly name = 'StrataError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Builds a StrataError; the short form used throughout strata. */
export function fail(code: ErrorCode, message: string, cause?: unknown): StrataError {
  return cause === undefined
    ? new StrataError(code, message)
    : new StrataError(code, message, { cause });
}

/** True when `err` is a StrataError with one of `codes` (any code when none given). */
export function isCode(err: unknown, ...codes: ErrorCode[]): err is StrataError {
  return err instanceof StrataError && (codes.length === 0 || codes.includes(err.code));
}

/** The errno code of a Node system error (`ENOENT`, ...), or undefined. */
export function errno(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Maps a Node system error to a StrataError naming `subject`; ENOENT becomes NotFound,
 * ENOSPC (and SQLite's SQLITE_FULL) ResourceExhausted, EACCES/EPERM PermissionDenied, the rest Internal.
 */
export function fromSystem(err: unknown, subject: string): StrataError {
  if (err instanceof StrataError) return err;
  const code = errno(err);
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ENOENT':
      return fail('NotFound', `${subject}: not found`, err);
    case 'ENOSPC':
    case 'EDQUOT':
    case 'SQLITE_FULL':
      return fail('ResourceExhausted', `${subject}: no space left on device`, err);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return fail('PermissionDenied', `${subject}: ${detail}`, err);
    default:
      return fail('Internal', `${subject}: ${detail}`, err);
  }
}

/** Throws `Aborted` when the signal has fired; call at loop heads. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

export function abortError(signal: AbortSignal): StrataError {
  const reason: unknown = signal.reason;
  if (reason instanceof StrataError) return reason;
  const why = reason instanceof Error ? reason.message : 'operation aborted';
  return fail('Aborted', why, reason);
}

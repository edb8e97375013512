import { setTimeout as sleepTimer } from 'node:timers/promises';
import { throwIfAborted } from '../errors.js';
import { RegistryError } from './errors.js';
import type { RetryOptions } from './types.js';

/**
 * The one retry loop every registry request goes through: manifest HEAD and GET, blob GET
 * with Range resume, login checks, token fetches (as a step of the request they authorize),
 * and uploads. Each attempt is a fresh call of the caller's function, which makes a fresh
 * request (a body re-opened at its offset, a Range from the bytes held). Retried: only
 * RegistryErrors that are Unavailable and not permanent (429/5xx answers, cut connections,
 * short bodies, a restart after a bad range); everything else ends the loop at once.
 *
 * Bounds, all in RetryOptions: `attempts` in a row without progress, `maxAttempts` in all,
 * `maxWaitMs` for any single wait (a longer Retry-After fails at once, quoting it), and
 * `maxElapsedMs` of failing and waiting since the last progress.
 */
export interface RetryRun extends RetryOptions {
  readonly signal?: AbortSignal | undefined;
  /** Hears each failure that will be retried (one line, no credentials). */
  readonly onRetry?: ((reason: string) => void) | undefined;
  /**
   * What the request holds so far (a download's bytes): an attempt that leaves more than
   * ever held before made progress, and does not count against `attempts`.
   */
  readonly progress?: (() => number) | undefined;
}

type Limits = Required<RetryOptions>;

export const RETRY_DEFAULTS: Limits = {
  attempts: 5,
  maxAttempts: 50,
  baseDelayMs: 200,
  maxDelayMs: 5000,
  maxWaitMs: 60_000,
  maxElapsedMs: 600_000,
};

/**
 * Runs `attempt` (numbered from 1) until it succeeds, fails with something not retryable,
 * or a bound is reached; the error then says which.
 * @throws what `attempt` throws; Aborted when the signal fires (also during a wait).
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  run: RetryRun = {},
): Promise<T> {
  const limits = limitsOf(run);
  let best = run.progress?.() ?? 0;
  let streak = 0;
  let since = performance.now();
  for (let n = 1; ; n++) {
    throwIfAborted(run.signal);
    try {
      return await attempt(n);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      const held = run.progress?.() ?? 0;
      if (held > best) {
        best = held;
        streak = 0;
        since = performance.now();
      } else streak++;
      const wait = delay(Math.max(1, streak), limits, err);
      const why = stopReason(limits, { n, streak, wait, elapsed: performance.now() - since }, err);
      if (why !== undefined) throw gaveUp(err, why);
      run.onRetry?.(err.message);
      await sleep(wait, run.signal);
    }
  }
}

/** True when asking the same host again may succeed. */
export function isRetryable(err: unknown): err is RegistryError {
  return err instanceof RegistryError && err.code === 'Unavailable' && !err.permanent;
}

function limitsOf(o: RetryOptions): Limits {
  const pick = (k: keyof Limits, min: number) => Math.max(min, o[k] ?? RETRY_DEFAULTS[k]);
  return {
    attempts: pick('attempts', 1),
    maxAttempts: pick('maxAttempts', 1),
    baseDelayMs: pick('baseDelayMs', 0),
    maxDelayMs: pick('maxDelayMs', 0),
    maxWaitMs: pick('maxWaitMs', 0),
    maxElapsedMs: pick('maxElapsedMs', 0),
  };
}

/** The wait before the next attempt: what the registry asked for, else exponential with jitter. */
function delay(streak: number, limits: Limits, err: RegistryError): number {
  if (err.retryAfterMs !== undefined) return err.retryAfterMs;
  const base = limits.baseDelayMs * 2 ** (streak - 1);
  const max = Math.min(limits.maxDelayMs, limits.maxWaitMs);
  return Math.min(max, base / 2 + Math.random() * (base / 2));
}

interface Tally {
  readonly n: number;
  readonly streak: number;
  readonly wait: number;
  readonly elapsed: number;
}

function stopReason(limits: Limits, t: Tally, err: RegistryError): string | undefined {
  if (t.wait > limits.maxWaitMs) {
    return `the registry asks to wait ${seconds(t.wait)}, longer than strata waits (${seconds(limits.maxWaitMs)}, retry.maxWaitMs)`;
  }
  const attempts = `gave up after ${t.n} attempt${t.n === 1 ? '' : 's'} in ${seconds(t.elapsed)}`;
  if (t.streak >= limits.attempts) return attempts;
  if (t.n >= limits.maxAttempts) return `${attempts} (retry.maxAttempts)`;
  if (t.elapsed + t.wait > limits.maxElapsedMs) {
    const asked = err.retryAfterMs !== undefined ? `, the next one ${seconds(t.wait)} away` : '';
    return `${attempts}${asked} (retry.maxElapsedMs ${seconds(limits.maxElapsedMs)})`;
  }
  return undefined;
}

function gaveUp(err: RegistryError, why: string): RegistryError {
  return new RegistryError(err.code, `${err.message}: ${why}`, {
    cause: err,
    permanent: true,
    ...(err.status !== undefined ? { status: err.status } : {}),
    ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
  });
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** Sleeps, waking with Aborted when the signal fires. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    // Node timers take at most 2^31-1 ms; longer ones would fire at once.
    await sleepTimer(Math.min(ms, 2 ** 31 - 1), undefined, signal ? { signal } : {});
  } catch {
    throwIfAborted(signal);
  }
}

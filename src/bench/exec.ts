import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { fail } from '../errors.js';

/**
 * How the benchmarks time work: a command from spawn to exit (`timed`), a function in this
 * process (`time`); and how they stop a daemon they started (`stopProcess`).
 */

export interface Timed {
  readonly seconds: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The child's peak RSS (VmHWM) as last polled, in bytes; 0 if never read. */
  readonly polledPeakRss: number;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  /** Poll the child's VmHWM every 10 ms (a lower bound of its peak RSS). */
  readonly pollRss?: boolean;
  /** Bytes for the child's stdin (default: none, stdin ignored). */
  readonly stdin?: AsyncIterable<Uint8Array> | NodeJS.ReadableStream;
  readonly signal?: AbortSignal;
}

/**
 * Runs `command args...`, timing it from spawn to exit (wall clock, `performance.now`).
 * stdout and stderr are kept (the last 64 KiB of each).
 */
export async function timed(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<Timed> {
  const started = performance.now();
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    timeout: options.timeoutMs ?? 600_000,
    ...(options.signal ? { signal: options.signal, killSignal: 'SIGTERM' as const } : {}),
  });
  const out = tail();
  const err = tail();
  child.stdout?.on('data', out.push);
  child.stderr?.on('data', err.push);
  // A child that exits early closes its stdin: the copy fails with EPIPE, the exit code tells why.
  const feeding =
    options.stdin && child.stdin
      ? pipeline(options.stdin, child.stdin).catch(() => undefined)
      : Promise.resolve();
  let peak = 0;
  const poll = options.pollRss
    ? setInterval(() => {
        peak = Math.max(peak, vmHwm(child.pid));
      }, 10)
    : undefined;
  const closed = new Promise((resolve) => child.on('close', resolve));
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    });
    const seconds = (performance.now() - started) / 1000;
    await closed; // all output read
    await feeding;
    return { seconds, code, stdout: out.text(), stderr: err.text(), polledPeakRss: peak };
  } finally {
    if (poll) clearInterval(poll);
  }
}

function tail() {
  let chunks: Buffer[] = [];
  let size = 0;
  return {
    push: (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      while (size > 65536 && chunks.length > 1) size -= chunks.shift()!.length;
    },
    text: () => {
      const s = Buffer.concat(chunks).toString('utf8');
      chunks = [];
      return s;
    },
  };
}

/** A process's peak resident set (VmHWM) in bytes, from /proc; 0 when unreadable. */
export function vmHwm(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Throws (Internal, with the end of its stderr on one line) when the command failed. */
export function check(what: string, result: Timed): Timed {
  if (result.code !== 0) {
    const why = result.stderr.trim().split('\n').slice(-3).join('; ');
    throw fail('Internal', `${what}: exited with ${result.code}: ${why}`);
  }
  return result;
}

/** Seconds `fn` takes, in this process (wall clock). */
export async function time(fn: () => unknown): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

/** SIGTERM, then SIGKILL after `graceMs` (default 5 s); resolves once the process is gone. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
}

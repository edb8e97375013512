import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { missing, skipNote } from '../fixtures/env.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const NOBODY = 65534;

/** Why the repo cannot be run as nobody here (a checkout nobody can read), or undefined. */
function unreadable(): string | undefined {
  try {
    accessSync(REPO, constants.R_OK | constants.X_OK);
    return undefined;
  } catch {
    return 'the checkout is not readable by others';
  }
}

const reason = missing({ root: true, commands: ['setpriv'] }) ?? unreadable();

/**
 * `native` must work without root. As root, this reruns the native suites as nobody in a
 * child vitest (the root-only cases skip there), so the unprivileged paths run for real:
 * no chown, no device nodes, trusted.* xattrs out of reach, no mounts.
 */
describe.skipIf(reason)(`native without root${skipNote(reason)}`, () => {
  it('passes the conformance suite and its own tests as nobody', async () => {
    const files = ['conformance.test.ts', 'native.test.ts', 'cleanup.test.ts'].map(
      (f) => `test/snapshots/${f}`,
    );
    const args = [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      process.execPath,
      'node_modules/vitest/vitest.mjs',
      'run',
      '--configLoader',
      'runner', // the default loader writes a temp file into node_modules
      ...files,
      '-t',
      'native',
    ];
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        'setpriv',
        args,
        { cwd: REPO, env: { ...process.env, HOME: '/tmp', CI: '' }, timeout: 300_000 },
        (err, stdout, stderr) => {
          const code = err ? Number((err as { code?: unknown }).code ?? 1) : 0;
          resolve({ code, output: stdout + stderr });
        },
      );
    });
    expect(code, output).toBe(0);
    // The unprivileged run really ran the native cases, and skipped only root-only ones.
    const passed = /Tests\s.*?(\d+) passed/.exec(output.replace(/\x1b\[[0-9;]*m/g, ''));
    expect(Number(passed?.[1])).toBeGreaterThan(40);
  }, 320_000);
});

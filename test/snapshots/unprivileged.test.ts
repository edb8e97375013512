import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MountFlags, mount, unmount } from '../../src/sys/index.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const NOBODY = 65534;
const asNobody = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];

const reason = missing({ root: true, commands: ['setpriv'] });

/** True when nobody can read the checkout where it is (not under a private /root). */
function readableByNobody(): boolean {
  const probe = spawnSync('setpriv', [...asNobody, 'test', '-r', join(REPO, 'package.json')]);
  return probe.status === 0;
}

/**
 * The checkout as nobody can reach it: itself, or a bind mount of it under a temp dir
 * (a checkout in root's home is not traversable by others). Returns the path and an undo.
 */
async function reachableRepo(): Promise<{ path: string; undo: () => void }> {
  if (readableByNobody()) return { path: REPO, undo: () => {} };
  const parent = await tempDir('strata-nobody-');
  chmodSync(parent, 0o755); // mkdtemp makes it 0700: nobody could not get to the view
  const view = join(parent, 'repo');
  mkdirSync(view);
  mount(REPO, view, null, MountFlags.bind, null);
  return { path: view, undo: () => unmount(view, { lazy: true }) };
}

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
    const repo = await reachableRepo();
    const args = [
      ...asNobody,
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
        { cwd: repo.path, env: { ...process.env, HOME: '/tmp', CI: '' }, timeout: 300_000 },
        (err, stdout, stderr) => {
          const code = err ? Number((err as { code?: unknown }).code ?? 1) : 0;
          resolve({ code, output: stdout + stderr });
        },
      );
    }).finally(repo.undo);
    expect(code, output).toBe(0);
    // The unprivileged run really ran the native cases, and skipped only root-only ones.
    const passed = /Tests\s.*?(\d+) passed/.exec(output.replace(/\x1b\[[0-9;]*m/g, ''));
    expect(Number(passed?.[1])).toBeGreaterThan(40);
  }, 320_000);
});

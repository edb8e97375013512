import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../fixtures/env.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));

/**
 * strata installs as users install packages: `npm pack` (its prepack builds dist/), then
 * `npm install ./strata-*.tgz` in an empty project. The install has no dev dependencies
 * (npm never installs a dependency's), so this also proves none is needed at run time.
 * better-sqlite3 is built from source there (npm 11 runs its install script only when the
 * project's `allowScripts` approves it, as README says): about 1.5 minutes.
 */
describe('the npm package', () => {
  let app: string;
  let files: string[];

  beforeAll(async () => {
    // Pack a copy of the checkout: the prepack's clean build must not pull dist/ from
    // under the other test files running now.
    const copy = await tempDir('strata-pack-');
    const { stdout: tracked } = await run('git', ['ls-files', '-z'], { cwd: repo });
    for (const file of tracked.split('\0').filter((f) => f !== '')) {
      await mkdir(join(copy, file, '..'), { recursive: true });
      await cp(join(repo, file), join(copy, file), { verbatimSymlinks: true });
    }
    await symlink(join(repo, 'node_modules'), join(copy, 'node_modules'));
    const { stdout: packed } = await run('npm', ['pack', '--json'], {
      cwd: copy,
      maxBuffer: 64 << 20,
    });
    const [info] = JSON.parse(packed) as { filename: string; files: { path: string }[] }[];
    files = info!.files.map((f) => f.path);
    app = await tempDir('strata-app-');
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'app',
        private: true,
        type: 'module',
        allowScripts: { 'better-sqlite3': true },
      }),
    );
    await run('npm', ['install', '--no-audit', '--no-fund', join(copy, info!.filename)], {
      cwd: app,
      maxBuffer: 64 << 20,
    });
  }, 600_000);

  it('ships the built library and CLI, not the tests, the sources or the bench harness', () => {
    expect(files).toContain('dist/src/cli/main.js');
    expect(files).toContain('dist/src/index.js');
    expect(files).toContain('dist/src/index.d.ts');
    expect(files).toContain('dist/src/apply/apply-worker.js');
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('src/'))).toEqual([]);
    expect(files.filter((f) => f.includes('/test/'))).toEqual([]);
    // The benchmark harness (bench/) is built apart, into build/, and not shipped.
    expect(files.filter((f) => f.startsWith('dist/bench/') || f.startsWith('build/'))).toEqual([]);
  });

  it('runs `npx strata version` from the install', async () => {
    const { stdout } = await run('npx', ['--no', 'strata', 'version'], { cwd: app });
    const { version } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(stdout).toMatch(new RegExp(`^strata ${version.replaceAll('.', '\\.')} \\(node v`));
  });

  it('imports openStrata and stores a blob (SQLite and the flock seam load)', async () => {
    const script = `
      import { openStrata, content } from 'strata';
      const s = await openStrata({ root: ${JSON.stringify(join(app, 'root'))} });
      const digest = 'sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae';
      await content.writeBlob(s.content, Buffer.from('foo'), { expected: digest });
      console.log((await s.content.info(digest)).size, s.images.list().length);
      s.close();`;
    const { stdout } = await run('node', ['--input-type=module', '-e', script], { cwd: app });
    expect(stdout).toBe('3 0\n');
  });

  it('installed no dev dependency', async () => {
    const { stdout } = await run('npm', ['ls', '--all', '--parseable'], { cwd: app }).catch(
      (err: { stdout: string }) => err,
    );
    for (const dev of ['typescript', 'vitest', '@biomejs/biome', '@types/node']) {
      expect(stdout).not.toContain(`/node_modules/${dev}`);
    }
  });
});

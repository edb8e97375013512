import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { snapshotCommands } from '../../src/cli/commands/snapshots.js';
import { runCli } from '../../src/cli/run.js';
import { isRoot, missing, skipNote, tempDir } from '../fixtures/env.js';

/** Runs `strata ARGS` in-process with only the snapshot commands. */
async function cli(root: string, args: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (d: Buffer) => out.push(d));
  stderr.on('data', (d: Buffer) => err.push(d));
  const code = await runCli({
    commands: snapshotCommands,
    argv: ['--root', root, ...args],
    env: {},
    stdin: new PassThrough(),
    stdout,
    stderr,
    signal: new AbortController().signal,
  });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

const needsRoot = missing({ root: true });

describe('strata snapshots (in-process CLI)', () => {
  for (const sn of ['native', 'overlay'] as const) {
    const reason = sn === 'overlay' ? needsRoot : undefined;
    it.skipIf(reason)(
      `prepare, commit, ls, tree, info, usage, label, rm with --snapshotter ${sn}${skipNote(reason)}`,
      async () => {
        const root = join(await tempDir('strata-cli-'), 'root');
        const s = ['--snapshotter', sn];
        const prepared = await cli(root, ['snapshots', 'prepare', 'base', '--label', 'a=1', ...s]);
        expect(prepared).toMatchObject({ code: 0, stderr: '' });
        expect(prepared.stdout).toMatch(
          /^mount -t bind \S+\/snapshots\/\w+\/[a-z2-7]{10}\/fs <target> -o rw,rbind\n$/,
        );
        expect((await cli(root, ['snapshots', 'commit', 'c1', 'base', ...s])).stdout).toBe('c1\n');
        await cli(root, ['snapshots', 'prepare', 'top', 'c1', ...s]);
        const ls = await cli(root, ['snapshots', 'ls', '--json', ...s]);
        expect(
          JSON.parse(ls.stdout).map((i: { name: string; parent: string | null; kind: string }) => [
            i.name,
            i.parent,
            i.kind,
          ]),
        ).toEqual([
          ['c1', null, 'committed'],
          ['top', 'c1', 'active'],
        ]);
        expect((await cli(root, ['snapshots', 'ls', '-q', 'kind==active', ...s])).stdout).toBe(
          'top\n',
        );
        expect((await cli(root, ['snapshots', 'tree', ...s])).stdout).toBe(
          '\\_ c1 (committed)\n  \\_ top (active)\n',
        );
        expect(
          JSON.parse((await cli(root, ['snapshots', 'info', 'c1', ...s])).stdout),
        ).toMatchObject({ name: 'c1', kind: 'committed', labels: {} });
        const labelled = await cli(root, ['snapshots', 'label', 'c1', 'x=y', ...s]);
        expect(labelled.stdout).toBe('c1 x=y\n');
        const usage = JSON.parse(
          (await cli(root, ['snapshots', 'usage', '--json', 'c1', ...s])).stdout,
        );
        expect(usage).toEqual([{ key: 'c1', size: expect.any(Number), inodes: 1 }]);
        const busy = await cli(root, ['snapshots', 'rm', 'c1', ...s]);
        expect(busy.code).toBe(1);
        expect(busy.stderr).toContain('has children');
        expect((await cli(root, ['snapshots', 'rm', 'top', 'c1', ...s])).code).toBe(0);
        expect((await cli(root, ['snapshots', 'ls', '-q', ...s])).stdout).toBe('');
        expect((await cli(root, ['snapshots', 'cleanup', ...s])).code).toBe(0);
      },
    );
  }

  it('rejects an unknown snapshotter', async () => {
    const root = join(await tempDir('strata-cli-'), 'root');
    const r = await cli(root, ['snapshots', 'ls', '--snapshotter', 'zfs']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('zfs');
  });

  it('uses the default snapshotter without --snapshotter', async () => {
    const root = join(await tempDir('strata-cli-'), 'root');
    await cli(root, ['snapshots', 'prepare', 'k']);
    const r = await cli(root, ['snapshots', 'mounts', 'k', '/mnt/x']);
    expect(r.stdout).toContain(`/snapshots/${isRoot ? 'overlay' : 'native'}/`);
    expect(r.stdout).toContain(' /mnt/x ');
  });

  it.skipIf(needsRoot)(`mount and unmount a snapshot${skipNote(needsRoot)}`, async () => {
    const base = await tempDir('strata-cli-');
    const root = join(base, 'root');
    const target = join(base, 'mnt');
    await mkdir(target);
    await cli(root, ['snapshots', 'prepare', 'base', '--snapshotter', 'overlay']);
    expect(
      (await cli(root, ['snapshots', 'mount', 'base', target, '--snapshotter', 'overlay'])).code,
    ).toBe(0);
    await writeFile(join(target, 'f'), 'hello');
    expect((await cli(root, ['snapshots', 'unmount', target])).code).toBe(0);
    await cli(root, ['snapshots', 'commit', 'c', 'base', '--snapshotter', 'overlay']);
    await cli(root, ['snapshots', 'view', 'v', 'c', '--snapshotter', 'overlay']);
    expect(
      (await cli(root, ['snapshots', 'mount', 'v', target, '--snapshotter', 'overlay'])).code,
    ).toBe(0);
    try {
      expect(await readFile(join(target, 'f'), 'utf8')).toBe('hello');
    } finally {
      await cli(root, ['snapshots', 'unmount', target]);
    }
  });
});

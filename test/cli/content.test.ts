import { createHash, randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata } from '../fixtures/cli.js';
import { tempDir } from '../fixtures/env.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('strata content (the built CLI)', () => {
  let dir: string;
  let root: string;
  beforeAll(async () => {
    dir = await tempDir();
    root = join(dir, 'root');
  });

  it('round-trips a 50 MB file byte-exact through ingest and get', async () => {
    const data = randomBytes(50 * 1024 * 1024);
    const file = join(dir, 'big');
    await writeFile(file, data);
    const digest = sha(data);
    const put = await strata(
      ['content', 'ingest', 'big', '--expected', digest, '--size', String(data.length)],
      {
        root,
        inputFile: file,
      },
    );
    expect(put).toMatchObject({ code: 0, stdout: `${digest} committed\n`, stderr: '' });
    const got = await strata(['content', 'get', digest], { root });
    expect(got.code).toBe(0);
    expect(got.bytes.length).toBe(data.length);
    expect(got.bytes.equals(data)).toBe(true);
    const info = JSON.parse((await strata(['content', 'info', digest], { root })).stdout);
    expect(info).toMatchObject({ digest, size: data.length, labels: {} });
    const again = await strata(['content', 'ingest', 'big2', '--expected', digest], {
      root,
      inputFile: file,
    });
    expect(again).toMatchObject({ code: 0, stdout: `${digest} already exists\n` });
  });

  it('refuses a malformed digest with one clear line, committing nothing', async () => {
    const r = join(dir, 'malformed');
    for (const bad of ['sha256:../../x', 'sha256:1234', 'nonsense']) {
      const res = await strata(['content', 'ingest', 'x', '--expected', bad], {
        root: r,
        input: Buffer.from('hi'),
      });
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(`strata: --expected: invalid digest ${JSON.stringify(bad)}\n`);
      expect(res.stdout).toBe('');
    }
    const get = await strata(['content', 'get', 'sha256:../../../etc/passwd'], { root: r });
    expect(get.code).toBe(1);
    expect(get.stderr).toMatch(/^strata: digest: invalid digest/);
    expect((await strata(['content', 'ls', '-q'], { root: r })).stdout).toBe('');
  });

  it('refuses a wrong digest: exit 1, nothing committed, no ingest left behind', async () => {
    const r = join(dir, 'wrong');
    const data = randomBytes(100_000);
    const wrong = sha(Buffer.from('something else'));
    const res = await strata(['content', 'ingest', 'w', '--expected', wrong], {
      root: r,
      input: data,
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`expected ${wrong}`);
    expect(res.stderr.split('\n').length).toBe(2);
    expect((await strata(['content', 'ls', '-q'], { root: r })).stdout).toBe('');
    expect((await strata(['content', 'active', '--json'], { root: r })).stdout.trim()).toBe('[]');
    expect(await readdir(join(r, 'content', 'blobs', 'sha256'))).toEqual([]);
  });

  it('keeps a short ingest and resumes it from a file', async () => {
    const r = join(dir, 'resume');
    const data = randomBytes(1_000_000);
    const digest = sha(data);
    const half = join(dir, 'half');
    const whole = join(dir, 'whole');
    await writeFile(half, data.subarray(0, 400_000));
    await writeFile(whole, data);
    const args = ['content', 'ingest', 'r1', '--expected', digest, '--size', String(data.length)];
    const first = await strata(args, { root: r, inputFile: half });
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('kept: run again to resume');
    const active = JSON.parse((await strata(['content', 'active', '--json'], { root: r })).stdout);
    expect(active).toMatchObject([{ ref: 'r1', offset: 400_000, total: 1_000_000 }]);
    const second = await strata(args, { root: r, inputFile: whole });
    expect(second).toMatchObject({ code: 0, stdout: `${digest} committed\n` });
    expect((await strata(['content', 'get', digest], { root: r })).bytes.equals(data)).toBe(true);
  });

  it('labels, filters, removes and aborts', async () => {
    const r = join(dir, 'labels');
    const a = Buffer.from('aaa');
    await strata(['content', 'ingest', 'a', '--expected', sha(a)], { root: r, input: a });
    const labelled = await strata(['content', 'label', sha(a), 'team=infra', 'tier=gold'], {
      root: r,
    });
    expect(labelled.stdout).toBe(`${sha(a)} team=infra,tier=gold\n`);
    await strata(['content', 'label', sha(a), 'tier='], { root: r });
    const ls = await strata(['content', 'ls', 'labels.team==infra', '--json'], { root: r });
    expect(JSON.parse(ls.stdout)).toMatchObject([{ digest: sha(a), labels: { team: 'infra' } }]);
    expect((await strata(['content', 'ls', '-q', 'labels.team==other'], { root: r })).stdout).toBe(
      '',
    );
    expect((await strata(['content', 'rm', sha(a)], { root: r })).code).toBe(0);
    const missing = await strata(['content', 'info', sha(a)], { root: r });
    expect(missing).toMatchObject({ code: 1, stderr: `strata: content ${sha(a)}: not found\n` });
    const notThere = await strata(['content', 'abort', 'nope'], { root: r });
    expect(notThere).toMatchObject({ code: 1, stderr: 'strata: ingest nope: not found\n' });
  });

  it('accepts global options before or after the command', async () => {
    const r = join(dir, 'globals');
    const before = await strata(['--json', '--namespace', 'ns1', 'content', 'ls']);
    const after = await strata(['content', 'ls', '--json', '-n', 'ns1', '--root', r]);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toEqual([]);
    // `before` ran without --root: it used STRATA_ROOT from the env fixture (unset) or the
    // default root; only check that parsing accepted the order.
    expect(before.stderr).not.toMatch(/unknown|Usage/);
    const env = await strata(['content', 'ls', '--json'], {
      env: { STRATA_ROOT: r, STRATA_NAMESPACE: 'ns1' },
    });
    expect(env).toMatchObject({ code: 0 });
  });
});

describe('strata CLI basics', () => {
  it('prints help and version', async () => {
    const help = await strata(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('content ingest');
    expect(help.stdout).toContain('namespaces ls');
    const cmdHelp = await strata(['content', 'ingest', '--help']);
    expect(cmdHelp.stdout).toContain(
      'Usage: strata content ingest REF --expected DIGEST [--size N] < FILE',
    );
    const version = JSON.parse((await strata(['version', '--json'])).stdout);
    expect(version).toMatchObject({ node: process.version });
  });

  it('reports usage errors with exit 2 and no stack trace unless --debug', async () => {
    const unknown = await strata(['frobnicate']);
    expect(unknown).toMatchObject({
      code: 2,
      stderr: 'strata: unknown command "frobnicate" (see strata --help)\n',
    });
    const badOpt = await strata(['content', 'ls', '--bogus']);
    expect(badOpt.code).toBe(2);
    expect(badOpt.stderr.split('\n').length).toBe(2);
    const r = join(await tempDir(), 'root');
    const plain = await strata(['content', 'info', `sha256:${'a'.repeat(64)}`], { root: r });
    expect(plain.stderr).not.toContain('    at ');
    const debug = await strata(['content', 'info', `sha256:${'a'.repeat(64)}`, '--debug'], {
      root: r,
    });
    expect(debug.stderr).toContain('    at ');
    const json = await strata(['content', 'info', `sha256:${'a'.repeat(64)}`, '--json'], {
      root: r,
    });
    expect(JSON.parse(json.stderr)).toEqual({
      error: { code: 'NotFound', message: `content sha256:${'a'.repeat(64)}: not found` },
    });
  });
});

describe('strata namespaces', () => {
  it('creates, lists, labels and removes; refuses to remove a non-empty namespace', async () => {
    const r = join(await tempDir(), 'root');
    expect((await strata(['namespaces', 'create', 'team-a', 'owner=me'], { root: r })).code).toBe(
      0,
    );
    const dup = await strata(['namespaces', 'create', 'team-a'], { root: r });
    expect(dup).toMatchObject({ code: 1, stderr: 'strata: namespace team-a: already exists\n' });
    const bad = await strata(['namespaces', 'create', 'Bad..name'], { root: r });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('namespace "Bad..name": invalid name');
    const blob = Buffer.from('x');
    await strata(['-n', 'team-b', 'content', 'ingest', 'x', '--expected', sha(blob)], {
      root: r,
      input: blob,
    });
    const ls = await strata(['namespaces', 'ls'], { root: r });
    expect(ls.stdout).toMatch(/^NAME\s+LABELS\nteam-a\s+owner=me\nteam-b\s+-\n$/);
    const busy = await strata(['ns', 'rm', 'team-b'], { root: r });
    expect(busy).toMatchObject({
      code: 1,
      stderr: 'strata: namespace team-b: not empty (it still has content)\n',
    });
    expect((await strata(['namespaces', 'rm', 'team-a'], { root: r })).code).toBe(0);
    expect((await strata(['namespaces', 'ls', '-q'], { root: r })).stdout).toBe('team-b\n');
  });
});

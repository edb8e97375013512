import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isCode } from '../../src/errors.js';
import {
  imageStore,
  MIGRATIONS,
  migrate,
  namespaceStore,
  openDatabase,
  validateNamespace,
} from '../../src/metadata/index.js';
import { digestOf } from '../../src/oci/digest.js';
import { tempDir } from '../fixtures/env.js';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return isCode(err) ? err.code : String(err);
  }
};

describe('metadata database', () => {
  it('applies migrations once and is idempotent on reopen', async () => {
    const path = join(await tempDir(), 'meta.db');
    const db = openDatabase(path);
    const versions = () =>
      db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
    expect(versions()).toEqual(MIGRATIONS.map((m) => m.version));
    migrate(db, MIGRATIONS);
    expect(versions()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
    const again = openDatabase(path);
    expect(again.prepare('SELECT count(*) FROM schema_migrations').pluck().get()).toBe(
      MIGRATIONS.length,
    );
    again.close();
  });

  it('validates namespace names like containerd', () => {
    for (const ok of ['default', 'k8s.io', 'a-b_c.d', 'A1', 'x'.repeat(76)])
      expect(validateNamespace(ok)).toBe(ok);
    for (const bad of ['', '-a', 'a-', 'a..b', 'a/b', 'a b', 'x'.repeat(77), '../etc']) {
      expect(codeOf(() => validateNamespace(bad))).toBe('InvalidArgument');
    }
  });

  it('stores images per namespace, with filters and AlreadyExists/NotFound', async () => {
    const db = openDatabase(join(await tempDir(), 'meta.db'));
    const a = imageStore(db, 'a');
    const b = imageStore(db, 'b');
    const target = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: digestOf('m'),
      size: 10,
    };
    const created = a.create({
      name: 'docker.io/library/alpine:latest',
      target,
      labels: { env: 'ci' },
    });
    expect(created).toMatchObject({
      name: 'docker.io/library/alpine:latest',
      target,
      labels: { env: 'ci' },
    });
    expect(codeOf(() => a.create({ name: 'docker.io/library/alpine:latest', target }))).toBe(
      'AlreadyExists',
    );
    expect(codeOf(() => b.get('docker.io/library/alpine:latest'))).toBe('NotFound');
    const moved = a.put({
      name: 'docker.io/library/alpine:latest',
      target: { ...target, digest: digestOf('n') },
    });
    expect(moved.target.digest).toBe(digestOf('n'));
    expect(moved.createdAt).toEqual(created.createdAt);
    a.create({ name: 'example.com/app:1', target });
    expect(a.list().map((i) => i.name)).toEqual([
      'docker.io/library/alpine:latest',
      'example.com/app:1',
    ]);
    expect(a.list(['labels.env==ci']).map((i) => i.name)).toEqual([]);
    expect(a.list([`target.digest==${digestOf('m')}`]).map((i) => i.name)).toEqual([
      'example.com/app:1',
    ]);
    expect(a.list(['name~=^docker']).map((i) => i.name)).toEqual([
      'docker.io/library/alpine:latest',
    ]);
    a.delete('example.com/app:1');
    expect(codeOf(() => a.delete('example.com/app:1'))).toBe('NotFound');
    expect(
      codeOf(() => a.create({ name: 'x', target: { ...target, digest: 'sha256:nope' as never } })),
    ).toBe('InvalidArgument');
    expect(codeOf(() => a.create({ name: 'x', target: { ...target, size: 0 } }))).toBe(
      'InvalidArgument',
    );
    const ns = namespaceStore(db);
    expect(ns.list().map((n) => n.name)).toEqual(['a']);
    expect(codeOf(() => ns.remove('a'))).toBe('FailedPrecondition');
    a.delete('docker.io/library/alpine:latest');
    ns.remove('a');
    expect(codeOf(() => ns.get('a'))).toBe('NotFound');
    db.close();
  });

  it('queues concurrent writers from several processes without surfacing busy errors', async () => {
    const path = join(await tempDir(), 'meta.db');
    openDatabase(path).close();
    const dist = fileURLToPath(new URL('../../dist/src/metadata/index.js', import.meta.url));
    const script = (id: number) => `
      const m = await import(${JSON.stringify(dist)});
      const db = m.openDatabase(${JSON.stringify(path)});
      const images = m.imageStore(db, 'race');
      for (let i = 0; i < 200; i++) {
        images.put({ name: 'img-${id}-' + i, target: { mediaType: 'x', digest: 'sha256:' + 'a'.repeat(64), size: 1 } });
      }
      db.close();
    `;
    const codes = await Promise.all(
      [1, 2, 3, 4].map(
        (id) =>
          new Promise<number | null>((resolve) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', script(id)], {
              stdio: 'inherit',
            });
            child.on('exit', resolve);
          }),
      ),
    );
    expect(codes).toEqual([0, 0, 0, 0]);
    const db = openDatabase(path);
    expect(imageStore(db, 'race').list().length).toBe(800);
    db.close();
  });
});

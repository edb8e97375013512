import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { openBlobStore } from '../content/index.js';
import {
  imageStore,
  leaseStore,
  namespacedContentStore,
  namespaceStore,
  openDatabase,
  validateNamespace,
} from '../metadata/index.js';
import { defaultSnapshotter, openSnapshotter } from '../snapshots/index.js';
import { pullImage } from './pull.js';
import type { RootOptions, Strata } from './types.js';

export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STRATA_ROOT) return resolve(env.STRATA_ROOT);
  if (process.getuid?.() === 0) return '/var/lib/strata';
  const data = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(data, 'strata');
}

export function defaultNamespace(env: NodeJS.ProcessEnv = process.env): string {
  return env.STRATA_NAMESPACE || 'default';
}

/**
 * Opens (creating if needed) a root.
 * @throws InvalidArgument for a bad namespace name; PermissionDenied when the root is not writable.
 */
export async function openStrata(options: RootOptions = {}): Promise<Strata> {
  const root = resolve(options.root ?? defaultRoot());
  const namespace = validateNamespace(options.namespace ?? defaultNamespace());
  await mkdir(join(root, 'tmp'), { recursive: true });
  const blobs = await openBlobStore(join(root, 'content'));
  const db = openDatabase(join(root, 'meta.db'));
  const view = (ns: string, lease?: string): Strata => {
    const held = lease === undefined ? {} : { lease };
    return {
      root,
      namespace: ns,
      db,
      blobs,
      ...held,
      content: namespacedContentStore(db, blobs, ns, held),
      images: imageStore(db, ns),
      namespaces: namespaceStore(db),
      leases: leaseStore(db, ns),
      snapshotter: async (name) =>
        openSnapshotter(name ?? (await defaultSnapshotter(root)), {
          root,
          db,
          namespace: ns,
          ...held,
        }),
      pull(ref, pullOptions) {
        return pullImage(this, ref, pullOptions);
      },
      withNamespace: (other) => view(validateNamespace(other)),
      withLease: (id) => view(ns, id),
      close: () => db.close(),
    };
  };
  return view(namespace);
}

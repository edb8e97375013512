import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageManifests, mountImage, unmountImage } from '../../src/image/index.js';
import { platformMatcher } from '../../src/oci/index.js';
import type { SnapshotterName } from '../../src/snapshots/index.js';
import type { Strata } from '../../src/strata/index.js';
import { snapshotTree, type Tree } from '../apply/tree.js';
import { type Blob, blob, describe, sha256, type TestImage } from '../fixtures/images.js';
import { buildTar, gzip, type TarEntrySpec } from '../fixtures/tar-builder.js';

/** An OCI image whose layers are tars built entry by entry (every type, whiteouts...). */
export function imageOf(
  layers: readonly (readonly TarEntrySpec[])[],
  options: { diffIds?: string[]; raw?: readonly Buffer[] } = {},
): TestImage {
  const tars = layers.map((entries) => buildTar(entries));
  const blobs: Blob[] = tars.map((tar, i) =>
    blob('application/vnd.oci.image.layer.v1.tar+gzip', options.raw?.[i] ?? gzip(tar)),
  );
  const diffIds = options.diffIds ?? tars.map((t) => sha256(t));
  const platform = { os: 'linux', architecture: 'amd64' };
  const config = blob(
    'application/vnd.oci.image.config.v1+json',
    Buffer.from(JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: diffIds } })),
  );
  const manifest = blob(
    'application/vnd.oci.image.manifest.v1+json',
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: describe(config),
        layers: blobs.map(describe),
      }),
    ),
  );
  return { manifest, config, layers: blobs, diffIds, platform };
}

/** Writes `image` as an OCI layout (for umoci) and returns `umoci unpack`'s rootfs. */
export function umociRootfs(image: TestImage, dir: string): string {
  const layout = join(dir, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  for (const b of [image.manifest, image.config, ...image.layers]) {
    writeFileSync(join(layout, 'blobs', 'sha256', b.digest.slice('sha256:'.length)), b.bytes);
  }
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { ...describe(image.manifest), annotations: { 'org.opencontainers.image.ref.name': 't' } },
      ],
    }),
  );
  execFileSync('umoci', ['unpack', '--image', `${layout}:t`, join(dir, 'bundle')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return join(dir, 'bundle', 'rootfs');
}

/** The tree of an image's rootfs as strata mounts it (root only). */
export async function mountedTree(
  strata: Strata,
  name: string,
  sn: SnapshotterName,
  dir: string,
): Promise<Tree> {
  const snapshotter = await strata.snapshotter(sn);
  const image = strata.images.get(name);
  const [manifest] = await imageManifests(strata.content, image.target, {
    matcher: platformMatcher({}),
  });
  const target = join(dir, `mnt-${sn}`);
  mkdirSync(target, { recursive: true });
  await mountImage(snapshotter, manifest!, target);
  try {
    return comparable(target);
  } finally {
    await unmountImage([snapshotter], target);
  }
}

/** A tree without directory sizes (overlayfs reports the upper dir's) and overlay xattrs. */
export function comparable(dir: string): Tree {
  const tree = snapshotTree(dir, {
    mtimes: true,
    skipXattr: (n) => n.startsWith('trusted.overlay.'),
  });
  for (const [path, entry] of tree) {
    if (entry.type === 'dir') {
      const { size: _, ...rest } = entry;
      tree.set(path, rest);
    }
  }
  return tree;
}

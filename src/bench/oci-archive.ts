import { ANNOTATION_REF_NAME } from '../archive/index.js';
import type { Store } from '../content/index.js';
import { fail } from '../errors.js';
import type { ImageManifest } from '../image/index.js';
import { type Descriptor, digestAlgorithm, digestHex } from '../oci/index.js';
import { TAR_END, tarHeader, tarPadding } from './tar.js';

/**
 * One image of a content store as an OCI archive (an image layout in a tar), streamed:
 * how containerd gets the very same blobs (`ctr images import`). The index names the
 * manifest `ref` (`org.opencontainers.image.ref.name`).
 */
export async function* ociArchive(
  content: Store,
  image: ImageManifest,
  ref: string,
): AsyncGenerator<Buffer> {
  const { mediaType, digest, size } = image.descriptor;
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType, digest, size, annotations: { [ANNOTATION_REF_NAME]: ref } }],
  };
  yield* small('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  yield* small('index.json', Buffer.from(JSON.stringify(index)));
  yield tarHeader({ name: 'blobs/', type: 'dir' });
  yield tarHeader({ name: 'blobs/sha256/', type: 'dir' });
  for (const desc of [image.descriptor, image.config, ...image.layers]) {
    yield* blob(content, desc);
  }
  yield TAR_END;
}

function* small(name: string, data: Buffer): Generator<Buffer> {
  yield tarHeader({ name, type: 'file', size: data.length });
  yield data;
  yield tarPadding(data.length);
}

async function* blob(content: Store, desc: Descriptor): AsyncGenerator<Buffer> {
  const name = `blobs/${digestAlgorithm(desc.digest)}/${digestHex(desc.digest)}`;
  yield tarHeader({ name, type: 'file', size: desc.size, mode: 0o444 });
  let n = 0;
  for await (const chunk of await content.reader(desc.digest)) {
    n += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  if (n !== desc.size) throw fail('Internal', `blob ${desc.digest}: ${n} bytes, want ${desc.size}`);
  yield tarPadding(n);
}

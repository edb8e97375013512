import { fail, isCode } from '../errors.js';
import { labelledAdaptor, parseFilters } from '../filters.js';
import type { Descriptor } from '../oci/index.js';
import { formatReference, parseDigest, parseReference } from '../oci/index.js';
import { type Db, type Labels, parseLabels, validateLabels, write } from './db.js';
import { ensureNamespace } from './namespaces.js';

/** An image record: a name pointing at a target descriptor (a manifest or an index). */
export interface Image {
  readonly name: string;
  readonly target: Descriptor;
  readonly labels: Labels;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface NewImage {
  readonly name: string;
  readonly target: Descriptor;
  readonly labels?: Labels;
}

/** Image records of one namespace. */
export interface ImageStore {
  /** @throws NotFound */
  get(name: string): Image;
  /** Images matching any of `filters` (fields: name, target.digest, target.mediatype, labels.*). */
  list(filters?: readonly string[]): Image[];
  /** @throws AlreadyExists */
  create(image: NewImage): Image;
  /** Creates the record or points it at a new target, keeping created_at. */
  put(image: NewImage): Image;
  /** @throws NotFound */
  delete(name: string): void;
}

interface Row {
  name: string;
  media_type: string;
  digest: string;
  size: number;
  annotations: string;
  labels: string;
  created_at: number;
  updated_at: number;
}

function toImage(r: Row): Image {
  const annotations = parseLabels(r.annotations);
  return {
    name: r.name,
    target: {
      mediaType: r.media_type,
      digest: parseDigest(r.digest),
      size: r.size,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    labels: parseLabels(r.labels),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

function validate(image: NewImage): void {
  if (image.name.length === 0) throw fail('InvalidArgument', 'image: empty name');
  parseDigest(image.target.digest, `image ${image.name}: target`);
  if (!Number.isSafeInteger(image.target.size) || image.target.size <= 0) {
    throw fail('InvalidArgument', `image ${image.name}: invalid target size ${image.target.size}`);
  }
  validateLabels(image.labels ?? {});
}

export function imageStore(db: Db, namespace: string): ImageStore {
  const get = (name: string): Image => {
    const row = db
      .prepare('SELECT * FROM images WHERE namespace = ? AND name = ?')
      .get(namespace, name) as Row | undefined;
    if (!row) throw fail('NotFound', `image ${name}: not found`);
    return toImage(row);
  };
  const upsert = (image: NewImage, onConflict: 'fail' | 'update'): Image => {
    validate(image);
    return write(db, () => {
      ensureNamespace(db, namespace);
      const now = Date.now();
      const { target } = image;
      const result = db
        .prepare(
          `INSERT INTO images (namespace, name, media_type, digest, size, annotations, labels, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(namespace, name) DO ${
             onConflict === 'fail'
               ? 'NOTHING'
               : `UPDATE SET media_type = excluded.media_type, digest = excluded.digest,
                  size = excluded.size, annotations = excluded.annotations,
                  labels = excluded.labels, updated_at = excluded.updated_at`
           }`,
        )
        .run(
          namespace,
          image.name,
          target.mediaType,
          target.digest,
          target.size,
          JSON.stringify(target.annotations ?? {}),
          JSON.stringify(image.labels ?? {}),
          now,
          now,
        );
      if (result.changes === 0) throw fail('AlreadyExists', `image ${image.name}: already exists`);
      return get(image.name);
    });
  };
  return {
    get,
    list(filters = []) {
      const filter = parseFilters(filters);
      const rows = db
        .prepare('SELECT * FROM images WHERE namespace = ? ORDER BY name')
        .all(namespace) as Row[];
      return rows.map(toImage).filter((image) =>
        filter.match(
          labelledAdaptor(
            {
              name: image.name,
              'target.digest': image.target.digest,
              'target.mediatype': image.target.mediaType,
            },
            image.labels,
          ),
        ),
      );
    },
    create: (image) => upsert(image, 'fail'),
    put: (image) => upsert(image, 'update'),
    delete(name) {
      write(db, () => {
        const result = db
          .prepare('DELETE FROM images WHERE namespace = ? AND name = ?')
          .run(namespace, name);
        if (result.changes === 0) throw fail('NotFound', `image ${name}: not found`);
      });
    },
  };
}

/**
 * Finds an image by the name given or by its normalized form (`alpine` finds
 * `docker.io/library/alpine:latest`).
 * @throws NotFound
 */
export function findImage(images: ImageStore, name: string): Image {
  try {
    return images.get(name);
  } catch (err) {
    if (!isCode(err, 'NotFound')) throw err;
    let normalized: string;
    try {
      normalized = formatReference(parseReference(name));
    } catch {
      throw err;
    }
    if (normalized === name) throw err;
    return images.get(normalized);
  }
}

import type { LayerSource } from '../apply/index.js';
import { fail } from '../errors.js';
import type { Descriptor, Digest } from '../oci/index.js';
import { type ArchiveContents, checkStored, missingBlob, type SourceContext } from './contents.js';
import { openBlobIngest, openMemberIngest } from './ingest.js';
import {
  DOCKER_MANIFEST_FILE,
  INDEX_FILE,
  LAYOUT_FILE,
  MAX_JSON_MEMBER,
  parseIndexFile,
} from './layout.js';
import { blobDigest, followLinks } from './member-name.js';
import { type MemberSink, readTarArchive } from './tar-read.js';

/**
 * Reads a tar archive in one pass into the content store: every `blobs/<alg>/<hex>` member
 * is ingested under its digest (verified at commit; already stored ones are skipped), other
 * regular members (docker-save layers and configs) are ingested under the digest their
 * bytes hash to, the JSON members are kept in memory (capped), and links are recorded.
 * Which blobs make which images is decided once the whole archive is read: skopeo writes
 * `index.json` after the blobs, docker writes `manifest.json` last.
 */
const JSON_MEMBERS = new Set([LAYOUT_FILE, INDEX_FILE, DOCKER_MANIFEST_FILE, 'repositories']);

/** docker-save's legacy per-layer files, which no importer reads. */
function isLegacyMember(name: string): boolean {
  return /(^|\/)(VERSION|json)$/.test(name);
}

export async function readTarContents(
  ctx: SourceContext,
  source: LayerSource,
  archive: string,
  onBytes?: (read: number) => void,
): Promise<ArchiveContents> {
  const json = new Map<string, Buffer>();
  const members = new Map<string, { digest: Digest; size: number }>();
  const links = new Map<string, string>();
  const stored = async (name: string, digest: Digest, size: number) => {
    members.set(name, { digest, size });
    await ctx.planner?.blobStored(digest);
  };
  await readTarArchive(
    source,
    {
      async file(name, size) {
        if (JSON_MEMBERS.has(name)) return jsonSink(name, size, json, archive, ctx);
        const digest = blobDigest(name, archive);
        if (digest) {
          const ingest = await openBlobIngest(ctx, digest, size, name, archive, () =>
            ctx.planner?.tap(digest),
          );
          if (ingest === 'exists') {
            await stored(name, digest, size);
            return undefined;
          }
          return ingestSink(ingest, (d) => stored(name, d, size));
        }
        if (isLegacyMember(name)) return undefined;
        return ingestSink(await openMemberIngest(ctx, size, name, archive), (d) =>
          stored(name, d, size),
        );
      },
      link(name, target) {
        links.set(name, target);
      },
    },
    {
      archive,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(onBytes ? { onBytes } : {}),
    },
  );
  return {
    archive,
    ...(json.has(LAYOUT_FILE) ? { layoutFile: json.get(LAYOUT_FILE)! } : {}),
    ...(json.has(INDEX_FILE) ? { indexFile: json.get(INDEX_FILE)! } : {}),
    ...(json.has(DOCKER_MANIFEST_FILE) ? { dockerManifest: json.get(DOCKER_MANIFEST_FILE)! } : {}),
    has: (desc) => checkStored(ctx.content, desc, 'blob', archive),
    async ensure(desc: Descriptor, role: string) {
      if (!(await checkStored(ctx.content, desc, role, archive))) {
        throw missingBlob(archive, role, desc.digest);
      }
    },
    async member(name) {
      const found = members.get(followLinks(name, links, archive));
      if (!found) {
        throw fail('NotFound', `${archive}: member ${JSON.stringify(name)}: missing`);
      }
      return found;
    },
  };
}

function ingestSink(
  ingest: Awaited<ReturnType<typeof openMemberIngest>>,
  onStored: (digest: Digest) => Promise<void>,
): MemberSink {
  return {
    write: (chunk) => ingest.write(chunk),
    async end() {
      let digest: Digest;
      try {
        digest = await ingest.commit();
      } catch (err) {
        await ingest.close(err);
        throw err;
      }
      await ingest.close();
      await onStored(digest);
    },
    abort: (err) => ingest.close(err),
  };
}

/** Keeps a JSON member in memory (capped); a second copy of one is an error. */
function jsonSink(
  name: string,
  size: number,
  json: Map<string, Buffer>,
  archive: string,
  ctx: SourceContext,
): MemberSink {
  if (json.has(name)) throw fail('InvalidArgument', `${archive}: member ${name}: appears twice`);
  if (size > MAX_JSON_MEMBER) {
    throw fail('InvalidArgument', `${archive}: ${name}: larger than ${MAX_JSON_MEMBER} bytes`);
  }
  const chunks: Buffer[] = [];
  return {
    async write(chunk) {
      chunks.push(Buffer.from(chunk));
    },
    async end() {
      const bytes = Buffer.concat(chunks);
      json.set(name, bytes);
      if (name === INDEX_FILE && ctx.planner)
        ctx.planner.watchIndex(parseIndexFile(bytes, archive));
    },
    async abort() {},
  };
}

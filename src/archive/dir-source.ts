import { createReadStream } from 'node:fs';
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { fail, fromSystem, isCode, throwIfAborted } from '../errors.js';
import type { Descriptor, Digest } from '../oci/index.js';
import { isLayerType } from '../oci/index.js';
import { type ArchiveContents, checkStored, missingBlob, type SourceContext } from './contents.js';
import { type MemberIngest, openBlobIngest, openMemberIngest } from './ingest.js';
import { DOCKER_MANIFEST_FILE, INDEX_FILE, LAYOUT_FILE, MAX_JSON_MEMBER } from './layout.js';
import { blobPath, cleanMemberName } from './member-name.js';

/**
 * An OCI image layout directory (as skopeo `oci:`, umoci and buildah write them), or an
 * unpacked docker-save tree, read on demand: only the blobs the selected images need are
 * ingested, each verified against its digest, layers through the planner's tap so they
 * unpack as they are read. Files are opened by paths built from validated digests or clean
 * names, and must resolve inside the directory.
 */
export async function readDirContents(ctx: SourceContext, dir: string): Promise<ArchiveContents> {
  const archive = dir;
  const real = await realpath(dir);
  const inside = async (name: string): Promise<string> => {
    const path = join(real, name);
    let resolved: string;
    try {
      resolved = await realpath(path);
    } catch (err) {
      throw fromSystem(err, `${archive}: ${name}`);
    }
    if (!resolved.startsWith(real + sep)) {
      throw fail('InvalidArgument', `${archive}: ${name}: resolves outside the directory`);
    }
    return resolved;
  };
  const optionalJson = async (name: string) => {
    const path = await inside(name).catch((err: unknown) => {
      if (isCode(err, 'NotFound')) return undefined;
      throw err;
    });
    if (path === undefined) return undefined;
    if ((await stat(path)).size > MAX_JSON_MEMBER) {
      throw fail('InvalidArgument', `${archive}: ${name}: larger than ${MAX_JSON_MEMBER} bytes`);
    }
    return readFile(path);
  };
  const [layoutFile, indexFile, dockerManifest] = await Promise.all(
    [LAYOUT_FILE, INDEX_FILE, DOCKER_MANIFEST_FILE].map(optionalJson),
  );
  const fromFile = async (path: string, ingest: MemberIngest) => {
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
        throwIfAborted(ctx.signal);
        await ingest.write(chunk as Buffer);
      }
      const digest = await ingest.commit();
      await ingest.close();
      return digest;
    } catch (err) {
      await ingest.close(err);
      throw err;
    }
  };
  const blobFile = async (digest: Digest, role: string) => {
    try {
      return await inside(blobPath(digest));
    } catch (err) {
      if (isCode(err, 'NotFound')) throw missingBlob(archive, role, digest);
      throw err;
    }
  };
  const members = new Map<string, Promise<{ digest: Digest; size: number }>>();
  return {
    archive,
    ...(layoutFile ? { layoutFile } : {}),
    ...(indexFile ? { indexFile } : {}),
    ...(dockerManifest ? { dockerManifest } : {}),
    async has(desc) {
      if (await checkStored(ctx.content, desc, 'blob', archive)) return true;
      return blobFile(desc.digest, 'blob').then(
        () => true,
        () => false,
      );
    },
    async ensure(desc: Descriptor, role: string) {
      if (await checkStored(ctx.content, desc, role, archive)) {
        await ctx.planner?.blobStored(desc.digest);
        return;
      }
      const path = await blobFile(desc.digest, role);
      const tap = isLayerType(desc.mediaType) ? () => ctx.planner?.tap(desc.digest) : undefined;
      const ingest = await openBlobIngest(
        ctx,
        desc.digest,
        desc.size,
        blobPath(desc.digest),
        archive,
        tap,
      );
      if (ingest !== 'exists') await fromFile(path, ingest);
      if (!(await checkStored(ctx.content, desc, role, archive))) {
        throw missingBlob(archive, role, desc.digest);
      }
      await ctx.planner?.blobStored(desc.digest);
    },
    member(raw) {
      const name = cleanMemberName(raw, archive);
      let found = members.get(name);
      if (!found) {
        found = (async () => {
          const path = await inside(name);
          const size = await fileSize(path);
          const digest = await fromFile(path, await openMemberIngest(ctx, size, name, archive));
          return { digest, size };
        })();
        members.set(name, found);
      }
      return found;
    },
  };
}

async function fileSize(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const s = await handle.stat();
    if (!s.isFile()) throw fail('InvalidArgument', `${path}: not a regular file`);
    return s.size;
  } finally {
    await handle.close();
  }
}

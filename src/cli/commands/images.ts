import type { Store } from '../../content/index.js';
import { readBlob } from '../../content/index.js';
import { findImage, type Image } from '../../metadata/index.js';
import type { Descriptor } from '../../oci/index.js';
import {
  formatPlatform,
  formatReference,
  isConfigType,
  isIndexType,
  isManifestType,
  MAX_CONFIG_SIZE,
  MAX_MANIFEST_SIZE,
  parseAny,
  parseConfig,
  parseReference,
} from '../../oci/index.js';
import { type Command, flag } from '../command.js';
import { printList, quietOption } from '../list-output.js';
import { formatAge, formatLabels, formatSize, printJson } from '../output.js';

interface Walked {
  /** Bytes of the target and everything under it that is in the store. */
  size: number;
  platforms: string[];
  manifests: { descriptor: Descriptor; manifest: unknown; config?: unknown }[];
  index?: unknown;
}

/** Reads what is stored under an image's target (missing children are skipped). */
async function walkImage(content: Store, target: Descriptor): Promise<Walked> {
  const out: Walked = { size: 0, platforms: [], manifests: [] };
  const seen = new Set<string>();
  const visit = async (desc: Descriptor): Promise<void> => {
    if (seen.has(desc.digest)) return;
    seen.add(desc.digest);
    const info = await content.info(desc.digest).catch(() => undefined);
    if (!info) return;
    out.size += info.size;
    if (!isIndexType(desc.mediaType) && !isManifestType(desc.mediaType)) return;
    const bytes = await readBlob(content, desc.digest, { maxSize: MAX_MANIFEST_SIZE });
    const parsed = parseAny(bytes, `content ${desc.digest}`, desc.mediaType);
    if (parsed.kind === 'index') {
      if (desc.digest === target.digest) out.index = JSON.parse(bytes.toString('utf8'));
      for (const m of parsed.index.manifests) {
        if (m.platform && !out.platforms.includes(formatPlatform(m.platform)))
          out.platforms.push(formatPlatform(m.platform));
        await visit(m);
      }
      return;
    }
    const entry: Walked['manifests'][number] = {
      descriptor: desc,
      manifest: JSON.parse(bytes.toString('utf8')),
    };
    out.manifests.push(entry);
    const { config, layers } = parsed.manifest;
    for (const d of [config, ...layers]) await visit(d);
    if (
      isConfigType(config.mediaType) &&
      (await content.info(config.digest).catch(() => undefined))
    ) {
      const c = parseConfig(await readBlob(content, config.digest, { maxSize: MAX_CONFIG_SIZE }));
      entry.config = c;
      const p = formatPlatform({
        os: c.os,
        architecture: c.architecture,
        ...(c.variant ? { variant: c.variant } : {}),
      });
      if (!isIndexType(target.mediaType) && !out.platforms.includes(p)) out.platforms.push(p);
    }
  };
  await visit(target);
  return out;
}

const imageJson = (i: Image) => ({
  name: i.name,
  target: i.target,
  labels: i.labels,
  createdAt: i.createdAt,
  updatedAt: i.updatedAt,
});

const ls: Command = {
  name: 'images ls',
  aliases: ['images list', 'image ls', 'image list', 'images'],
  summary: 'List images',
  usage: '[FILTER...]',
  description: 'Filters use containerd syntax, e.g. name~=alpine or labels.foo==bar.',
  options: quietOption('names'),
  async run(ctx, filters, values) {
    const strata = await ctx.open();
    const images = strata.images.list(filters);
    const walked = new Map<string, Awaited<ReturnType<typeof walkImage>>>();
    const of = (i: Image) => walked.get(i.name)!;
    return printList(ctx, values, images, {
      id: (i) => i.name,
      prepare: async () => {
        for (const i of images) walked.set(i.name, await walkImage(strata.content, i.target));
      },
      headers: ['REF', 'TYPE', 'DIGEST', 'SIZE', 'PLATFORMS', 'CREATED', 'LABELS'],
      row: (i) => [
        i.name,
        i.target.mediaType,
        i.target.digest,
        formatSize(of(i).size),
        of(i).platforms.join(',') || '-',
        formatAge(i.createdAt),
        formatLabels(i.labels),
      ],
      json: (i) => ({ ...imageJson(i), size: of(i).size, platforms: of(i).platforms }),
    });
  },
};

const inspect: Command = {
  name: 'images inspect',
  aliases: ['image inspect'],
  summary: "Show an image's record, manifests and configs (JSON)",
  usage: 'REF',
  args: { min: 1, max: 1 },
  async run(ctx, [name]) {
    const strata = await ctx.open();
    const image = findImage(strata.images, name!);
    const walked = await walkImage(strata.content, image.target);
    printJson(ctx.stdout, {
      ...imageJson(image),
      size: walked.size,
      platforms: walked.platforms,
      ...(walked.index ? { index: walked.index } : {}),
      manifests: walked.manifests,
    });
    return 0;
  },
};

const rm: Command = {
  name: 'images rm',
  aliases: ['images remove', 'images delete', 'image rm', 'image remove'],
  summary: 'Remove image records (content stays until garbage collection)',
  usage: 'REF...',
  args: { min: 1 },
  async run(ctx, names) {
    const strata = await ctx.open();
    const removed: string[] = [];
    for (const name of names) {
      const image = findImage(strata.images, name);
      strata.images.delete(image.name);
      removed.push(image.name);
      if (!ctx.globals.json) ctx.stdout.write(`${image.name}\n`);
    }
    if (ctx.globals.json) printJson(ctx.stdout, { removed });
    return 0;
  },
};

const tag: Command = {
  name: 'images tag',
  aliases: ['image tag', 'tag'],
  summary: 'Give an image another name',
  usage: 'SRC DST [--force]',
  options: { force: { type: 'boolean', short: 'f', description: 'replace DST if it exists' } },
  args: { min: 2, max: 2 },
  async run(ctx, [src, dst], values) {
    const strata = await ctx.open();
    const source = findImage(strata.images, src!);
    const name = formatReference(parseReference(dst!));
    const image = { name, target: source.target, labels: source.labels };
    const created = flag(values, 'force') ? strata.images.put(image) : strata.images.create(image);
    if (ctx.globals.json) printJson(ctx.stdout, imageJson(created));
    else ctx.stdout.write(`${created.name}\n`);
    return 0;
  },
};

export const imageCommands: readonly Command[] = [ls, inspect, rm, tag];

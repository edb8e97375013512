import type { Store } from '../../content/index.js';
import { type ChildDecision, configPlatform, storeReader, walkImage } from '../../image/index.js';
import { findImage, type Image } from '../../metadata/index.js';
import type { Descriptor, Platform } from '../../oci/index.js';
import {
  allPlatforms,
  formatPlatform,
  formatReference,
  isIndexType,
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

/**
 * Reads what is stored under an image's target, every platform: children and configs not
 * stored are skipped, each blob's size counted once.
 */
async function storedTree(content: Store, target: Descriptor): Promise<Walked> {
  const out: Walked = { size: 0, platforms: [], manifests: [] };
  const counted = new Set<string>();
  const count = async (desc: Descriptor) => {
    if (counted.has(desc.digest)) return;
    counted.add(desc.digest);
    out.size += (await content.info(desc.digest).catch(() => undefined))?.size ?? 0;
  };
  const stored = async (desc: Descriptor): Promise<ChildDecision> =>
    (await content.info(desc.digest).catch(() => undefined)) ? 'walk' : 'skip';
  const platform = (p: Platform) => {
    if (!out.platforms.includes(formatPlatform(p))) out.platforms.push(formatPlatform(p));
  };
  if ((await stored(target)) === 'skip') return out;
  await walkImage(target, {
    read: storeReader(content),
    matcher: allPlatforms,
    all: true,
    visit: {
      child: stored,
      config: stored,
      artifact: (node) => count(node.descriptor),
      async index(node) {
        await count(node.descriptor);
        if (node.depth === 0) out.index = JSON.parse(node.bytes.toString('utf8'));
        for (const m of node.children) if (m.platform) platform(m.platform);
      },
      async manifest({ descriptor, bytes, manifest, imageConfig }) {
        await count(descriptor);
        const json: unknown = JSON.parse(bytes.toString('utf8'));
        out.manifests.push({
          descriptor,
          manifest: json,
          ...(imageConfig ? { config: imageConfig } : {}),
        });
        for (const d of [manifest.config, ...manifest.layers]) await count(d);
        if (imageConfig && !isIndexType(target.mediaType)) platform(configPlatform(imageConfig));
      },
    },
  });
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
    const walked = new Map<string, Walked>();
    const of = (i: Image) => walked.get(i.name)!;
    return printList(ctx, values, images, {
      id: (i) => i.name,
      prepare: async () => {
        for (const i of images) walked.set(i.name, await storedTree(strata.content, i.target));
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
    const walked = await storedTree(strata.content, image.target);
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

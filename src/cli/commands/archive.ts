import { type ArchiveFormat, exportImages, importArchive } from '../../archive/index.js';
import { type Command, flag, stringOption } from '../command.js';
import {
  PLATFORM_OPTIONS,
  platformSettings,
  snapshotterName,
  snapshotterOption,
  UNPACK_OPTIONS,
  unpackSettings,
} from '../options.js';
import { formatSize, printJson, UsageError } from '../output.js';
import { withProgress } from '../progress.js';
import { printImported, stdoutSink } from './archive-output.js';
import { preloadCommands } from './preload.js';

const exportCommand: Command = {
  name: 'export',
  summary:
    'Write images into an archive (OCI layout tar, docker-save tar, or OCI layout directory)',
  usage: 'FILE|DIR|- REF... [--platform P | --all-platforms] [--format oci|docker]',
  description:
    'The default format is an OCI image layout tar with a docker manifest.json: containerd\n' +
    '(ctr images import), skopeo (oci-archive:), umoci and docker load all read it. --format\n' +
    'docker writes the docker-save layout (uncompressed layers). FILE is written to a temporary\n' +
    'name and renamed when complete; - writes to stdout; an existing directory receives an OCI\n' +
    'layout (added to what is there).',
  options: {
    ...PLATFORM_OPTIONS,
    format: {
      type: 'string',
      value: 'oci|docker',
      description: 'the archive format (default oci)',
    },
  },
  args: { min: 2 },
  async run(ctx, [file, ...refs], values) {
    const format = stringOption(values, 'format') ?? 'oci';
    if (format !== 'oci' && format !== 'docker') {
      throw new UsageError(`export: --format must be oci or docker, not ${JSON.stringify(format)}`);
    }
    const strata = await ctx.open();
    const dest = file === '-' ? stdoutSink(ctx) : file!;
    const result = await withProgress(ctx, (onProgress) =>
      exportImages(strata, refs, dest, {
        ...platformSettings('export', values),
        format: format as ArchiveFormat,
        signal: ctx.signal,
        onProgress,
        onWarning: (message) => ctx.stderr.write(`strata: warning: ${message}\n`),
      }),
    );
    if (file === '-') return 0;
    if (ctx.globals.json) printJson(ctx.stdout, { file, format, ...result });
    else {
      for (const i of result.images) ctx.stdout.write(`${i.name}: ${i.digest}\n`);
      ctx.stdout.write(`${file}: ${result.blobs} blobs, ${formatSize(result.bytes)}\n`);
    }
    return 0;
  },
};

const importCommand: Command = {
  name: 'import',
  summary: 'Import images from an archive (OCI layout tar or directory, docker-save tar)',
  usage:
    'FILE|DIR|- [--unpack] [--platform P] [--all-platforms] [--base-name NAME] [--snapshotter overlay|native]',
  description:
    'Reads OCI image layouts (tars and directories from skopeo, umoci, crane, buildah,\n' +
    'containerd, docker, strata) and docker-save tars, plain, gzip or zstd; - reads stdin.\n' +
    'Every blob is verified. Names come from io.containerd.image.name, else the OCI ref name\n' +
    '(a bare tag is put under --base-name), else RepoTags; all are normalized. A failed\n' +
    'import records no image; running it again resumes. With --all-platforms every platform\n' +
    'is kept and --platform names the one to unpack.',
  options: {
    ...PLATFORM_OPTIONS,
    unpack: { type: 'boolean', description: 'unpack the images into snapshots' },
    'base-name': {
      type: 'string',
      value: 'NAME',
      description: 'repository for entries named by a tag only, or not named',
    },
    ...snapshotterOption,
    ...UNPACK_OPTIONS,
  },
  args: { min: 1, max: 1 },
  async run(ctx, [file], values) {
    const snapshotter = snapshotterName(values);
    const baseName = stringOption(values, 'base-name');
    const strata = await ctx.open();
    const imported = await withProgress(ctx, (onProgress) =>
      importArchive(strata, file === '-' ? ctx.stdin : file!, {
        ...platformSettings('import', values),
        ...(flag(values, 'unpack') ? { unpack: true } : {}),
        ...(baseName !== undefined ? { baseName } : {}),
        ...(snapshotter ? { snapshotter } : {}),
        ...unpackSettings('import', values),
        name: file === '-' ? 'stdin' : file!,
        signal: ctx.signal,
        onProgress,
        onWarning: (message) => ctx.stderr.write(`strata: warning: ${message}\n`),
      }),
    );
    printImported(ctx, imported);
    return 0;
  },
};

export const archiveCommands: readonly Command[] = [
  exportCommand,
  importCommand,
  ...preloadCommands,
];

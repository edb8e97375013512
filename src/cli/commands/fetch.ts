import { fetchImage } from '../../fetch/index.js';
import { underLease } from '../../strata/index.js';
import type { Command } from '../command.js';
import { FETCH_OPTIONS, fetchSettings } from '../options.js';
import { fetchResultJson, printJson } from '../output.js';
import { withProgress } from '../progress.js';

export const contentFetchCommand: Command = {
  name: 'content fetch',
  summary: "Fetch an image's content from a registry without recording the image",
  description:
    'Nothing refers to the content fetched once the command ends: the next gc frees it\n' +
    '(label a blob containerd.io/gc.root to keep it).',
  usage: 'REF [--platform P | --all-platforms]',
  options: FETCH_OPTIONS,
  args: { min: 1, max: 1 },
  async run(ctx, [ref], values) {
    const options = fetchSettings(ctx, 'content fetch', values);
    const strata = await ctx.open();
    // Under a lease while it runs (a gc meanwhile keeps what it wrote). Nothing refers to
    // the content afterwards: like `ctr content fetch`, it stays until the next gc.
    const result = await underLease(strata, `content fetch ${ref}`, (leased) =>
      withProgress(ctx, (onProgress) => fetchImage(leased, ref!, { ...options, onProgress })),
    );
    if (ctx.globals.json) printJson(ctx.stdout, fetchResultJson(result));
    else ctx.stdout.write(`${result.name}: ${result.target.digest}\n`);
    return 0;
  },
};

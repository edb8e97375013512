import { fetchImage } from '../../pull/index.js';
import type { Command } from '../command.js';
import { printJson } from '../output.js';
import { FETCH_OPTIONS, fetchSettings, resultJson, withProgress } from './pull.js';

export const contentFetchCommand: Command = {
  name: 'content fetch',
  summary: "Fetch an image's content from a registry without recording the image",
  usage: 'REF [--platform P | --all-platforms]',
  options: FETCH_OPTIONS,
  args: { min: 1, max: 1 },
  async run(ctx, [ref], values) {
    const options = fetchSettings(ctx, 'content fetch', values);
    const strata = await ctx.open();
    const result = await withProgress(ctx, (onProgress) =>
      fetchImage(strata, ref!, { ...options, onProgress }),
    );
    if (ctx.globals.json) printJson(ctx.stdout, resultJson(result));
    else ctx.stdout.write(`${result.name}: ${result.target.digest}\n`);
    return 0;
  },
};

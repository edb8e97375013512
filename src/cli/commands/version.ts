import { VERSION } from '../../version.js';
import type { Command } from '../command.js';
import { printJson } from '../output.js';

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the version of strata and of Node.js',
  args: { max: 0 },
  async run(ctx) {
    const info = {
      strata: VERSION,
      node: process.version,
      platform: `${process.platform}/${process.arch}`,
    };
    if (ctx.globals.json) printJson(ctx.stdout, info);
    else ctx.stdout.write(`strata ${info.strata} (node ${info.node}, ${info.platform})\n`);
    return 0;
  },
};

import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBench } from '../../bench/main.js';
import { PART_NAMES, parseOptions } from '../../bench/options.js';
import { docMarkers } from '../../bench/report.js';
import { isRoot, missing, skipNote, tempDir, which } from '../fixtures/env.js';

// A smoke run of `npm run bench -- --quick`: the harness runs end to end and reports.
// Never a timing assertion: only that every stage and tool produced a positive number.

const reason = missing({ commands: ['docker-registry'] });

describe.skipIf(reason)(`bench --quick${skipNote(reason)}`, () => {
  it('measures every stage and tool and writes the JSON and the docs sections', async () => {
    const dir = await tempDir('strata-bench-test-');
    const json = join(dir, 'report.json');
    const docs = join(dir, 'BENCHMARKS.md');
    await writeFile(
      docs,
      `# Benchmarks\n\nhand-written\n\n${docMarkers('micro')[0]}\nold\n${docMarkers('micro')[1]}\n`,
    );
    const options = parseOptions(['--quick', '--json', json, '--update-docs', '--docs', docs]);
    if (options === 'help') throw new Error('unexpected help');
    let printed = '';
    const report = await runBench(options, {
      log: () => {},
      out: (text) => {
        printed += text;
      },
      command: 'npm run bench -- --quick',
    });

    // part 1: each stage, for each generated profile, with a limit where there is one
    expect(report.micro?.profiles.map((p) => p.name)).toEqual(['small-files', 'large-files']);
    for (const profile of ['small-files', 'large-files']) {
      const rows = report.micro!.rows.filter((r) => r.profile === profile);
      const stages = new Set(rows.map((r) => r.stage));
      expect([...stages].sort()).toEqual(['apply', 'gunzip', 'pipeline', 'sha256', 'tar parse']);
      for (const r of rows) {
        expect(r.seconds.length, `${profile} ${r.impl}`).toBe(1);
        expect(r.mbps.median, `${profile} ${r.impl}`).toBeGreaterThan(0);
        expect(Number.isFinite(r.mbps.median), `${profile} ${r.impl}`).toBe(true);
      }
      const impls = rows.map((r) => r.impl);
      expect(impls).toContain('tar-stream extract (callbacks)');
      expect(impls).toContain('fflate Gunzip (stream)');
      expect(rows.some((r) => r.stage === 'sha256' && r.role === 'limit')).toBe(true);
      expect(rows.some((r) => r.stage === 'gunzip' && r.role === 'limit')).toBe(true);
    }

    // part 2: strata and every peer this machine has, on the generated image
    const e2e = report.e2e!;
    expect(e2e.images.map((i) => i.name)).toEqual(['tiny']);
    const tools = e2e.rows.map((r) => r.tool);
    expect(tools).toContain('strata');
    expect(tools).toContain('strata fetch-only');
    if (isRoot && which('containerd') && which('ctr')) expect(tools).toContain('containerd');
    if (which('pigz') && which('curl')) expect(tools).toContain('curl|pigz|tar');
    for (const r of e2e.rows) expect(r.seconds.median, r.tool).toBeGreaterThan(0);
    const strata = e2e.rows.find((r) => r.tool === 'strata')!;
    expect(strata.peakRss).toBeGreaterThan(16 * 2 ** 20);
    expect(strata.innerSeconds).toBeGreaterThan(0);
    expect(strata.cpuSeconds).toBeGreaterThan(0);
    for (const r of e2e.ratios) expect(r.ratio).toBeGreaterThan(0);
    expect(report.targets?.some((t) => t.target.startsWith('peak RSS'))).toBe(true);

    // outputs: the terminal tables, parseable JSON, docs sections rewritten in place
    expect(printed).toContain('Part 1: pipeline micro-benchmarks');
    expect(printed).toContain('Part 2: pull + unpack end to end');
    expect(JSON.parse(await readFile(json, 'utf8'))).toEqual(JSON.parse(JSON.stringify(report)));
    const md = await readFile(docs, 'utf8');
    expect(md).toContain('hand-written');
    expect(md).not.toContain('\nold\n');
    for (const [begin, end] of PART_NAMES.map(docMarkers)) {
      expect(md.split(begin).length, begin).toBe(2);
      expect(md.indexOf(end)).toBeGreaterThan(md.indexOf(begin));
    }
    expect(md).toContain('| small-files | tar parse |');
    expect(md).toContain('| tiny | tmpfs | overlay | strata');
    expect(existsSync(join(dir, 'report.json'))).toBe(true);
  }, 120_000);

  it('rejects bad options', () => {
    expect(() => parseOptions(['--dir', 'nfs'])).toThrow(/--dir must be one of/);
    expect(() => parseOptions(['--runs', '0'])).toThrow(/--runs/);
    expect(parseOptions(['--help'])).toBe('help');
  });
});

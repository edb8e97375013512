import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { layerTimings } from '../../src/bench/containerd-log.js';
import { type BenchResults, PHASES, type Phase } from '../../src/bench/results.js';
import { strata } from '../fixtures/cli.js';
import { isRoot, missing, skipNote, tempDir, which } from '../fixtures/env.js';

// `strata bench snapshotters` end to end on the tiny profile (one run, no warm-up: seconds),
// its HTML report rendered by a real browser, and `strata bench report` merging runs.
// Never a timing assertion: only that every phase of every driver has a sample.

const canContainerd = isRoot && which('containerd') !== undefined && which('ctr') !== undefined;

/** Phases each engine measures: containerd has no separate pipeline unpack. */
function phasesOf(driver: string): Phase[] {
  const mounts = isRoot ? [] : (['mount', 'unmount'] as Phase[]);
  return PHASES.map((p) => p.id).filter(
    (p) => !(driver.startsWith('containerd/') && p === 'pipeline') && !mounts.includes(p),
  );
}

let dir: string;
let json: string;
let html: string;
let run: Awaited<ReturnType<typeof strata>>;
let results: BenchResults;

beforeAll(async () => {
  dir = await tempDir('strata-bench-sn-', { fast: true });
  json = join(dir, 'results.json');
  html = join(dir, 'report.html');
  run = await strata(
    [
      'bench',
      'snapshotters',
      '--profile',
      'tiny',
      '--runs',
      '1',
      '--warmup',
      '0',
      '--dir',
      dir,
      '--json',
      json,
      '--html',
      html,
      '--label',
      'run A',
    ],
    { timeoutMs: 120_000 },
  );
  results = JSON.parse(await readFile(json, 'utf8')) as BenchResults;
}, 150_000);

describe('strata bench snapshotters --profile tiny', () => {
  it('exits 0 and prints the table', () => {
    expect(run.stderr).not.toMatch(/failed/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^PHASE +strata overlay|^PHASE +strata native/m);
    expect(run.stdout).toContain('disk (du)');
  });

  it('records the machine, the options and the workload', () => {
    expect(results.options).toMatchObject({ profiles: ['tiny'], runs: 1, warmup: 0 });
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.kernel).not.toBe('');
    expect(results.machine.node).toBe(process.version);
    expect(results.machine.dir.fsType).toBe('tmpfs');
    expect(results.workloads).toHaveLength(1);
    expect(results.workloads[0]).toMatchObject({ name: 'tiny', kind: 'profile', layers: 3 });
    expect(results.workloads[0]!.entries).toBeGreaterThan(30);
  });

  it("has strata's drivers, and containerd's or the reason they were skipped", () => {
    const measured = results.cells.map((c) => c.driver);
    expect(measured).toContain('strata/native');
    if (isRoot) expect(measured).toContain('strata/overlay');
    for (const ctd of ['containerd/overlayfs', 'containerd/native']) {
      if (canContainerd) expect(measured).toContain(ctd);
      else {
        const skip = results.skipped.find((s) => s.driver === ctd);
        expect(skip?.reason).toMatch(/^needs root$|not installed$/);
      }
    }
  });

  it('has a raw sample of every phase, per layer times and disk usage for each driver', () => {
    for (const cell of results.cells) {
      const what = cell.driver;
      expect(cell.error, what).toBeUndefined();
      expect(cell.runs, what).toHaveLength(1);
      const [sample] = cell.runs;
      for (const phase of phasesOf(cell.driver)) {
        const seconds = sample!.phases[phase];
        expect(seconds, `${what} ${phase}`).toBeGreaterThan(0);
        expect(cell.summary[phase]?.median, `${what} ${phase}`).toBe(seconds);
      }
      expect(sample!.layers, what).toHaveLength(3);
      for (const layer of sample!.layers!) {
        expect(layer.prepare, what).toBeGreaterThan(0);
        expect(layer.apply, what).toBeGreaterThan(0);
        expect(layer.commit, what).toBeGreaterThan(0);
      }
      expect(cell.usage?.du.size, what).toBeGreaterThan(0);
      expect(cell.usage?.du.inodes, what).toBeGreaterThan(20);
      expect(cell.usage?.reported.inodes, what).toBeGreaterThan(20);
    }
  });

  it("agrees with containerd on each snapshotter's disk usage", () => {
    const du = (d: string) => results.cells.find((c) => c.driver === d)?.usage?.du;
    // tmpfs: directories take no blocks, so the sizes are the files' (same bytes unpacked)
    if (!canContainerd) return;
    expect(du('strata/overlay')?.size).toBe(du('containerd/overlayfs')?.size);
    expect(du('strata/native')?.size).toBe(du('containerd/native')?.size);
  });
});

const chromiumReason = missing({ commands: ['chromium'] });

/** Runs headless chromium on `file` with `args` (no network, no profile of its own). */
async function chromium(file: string, args: readonly string[]): Promise<string> {
  const profile = await tempDir('strata-chromium-');
  const { stdout } = await promisify(execFile)(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      ...args,
      `file://${file}`,
    ],
    { timeout: 60_000, maxBuffer: 64 << 20 },
  );
  return stdout;
}

/**
 * What the browser made of the charts, written into the page by a probe script appended
 * to a copy of the report (the report itself has no script): per chart its id, rendered
 * size, title, legend entries, axis labels and bars that have a width.
 */
const PROBE = `<script>
window.addEventListener('load', () => {
  const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
    const box = svg.getBoundingClientRect();
    const texts = (sel) => [...svg.querySelectorAll(sel)].map((t) => t.textContent);
    return {
      id: svg.id,
      namespace: svg.namespaceURI,
      width: box.width,
      height: box.height,
      title: svg.querySelector(':scope > title')?.textContent ?? '',
      legend: texts('.legend-item text'),
      axes: texts('.axis-label'),
      bars: [...svg.querySelectorAll('rect.bar')].filter((r) => r.getBBox().width > 0).length,
      lines: [...svg.querySelectorAll('path.line')].filter((p) => p.getTotalLength() > 0).length,
    };
  });
  const out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify(charts);
  document.body.append(out);
});
</script>`;

interface Probed {
  id: string;
  namespace: string;
  width: number;
  height: number;
  title: string;
  legend: string[];
  axes: string[];
  bars: number;
  lines: number;
}

describe.skipIf(chromiumReason)(
  `the HTML report in headless chromium${skipNote(chromiumReason)}`,
  () => {
    it('renders every chart as SVG with a title, a legend, labelled axes and bars', async () => {
      const probed = join(dir, 'probed.html');
      await writeFile(probed, (await readFile(html, 'utf8')).replace('</body>', `${PROBE}</body>`));
      const dom = await chromium(probed, ['--dump-dom']);
      const text = /<pre id="probe">([^<]*)<\/pre>/.exec(dom)?.[1];
      expect(text, 'the probe ran').toBeDefined();
      const charts = JSON.parse(text!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as Probed[];
      expect(charts.map((c) => c.id)).toEqual([
        'chart-tiny-phases',
        'chart-tiny-usage',
        'chart-tiny-layers',
      ]);
      const drivers = results.drivers.map((d) => d.label);
      for (const c of charts) {
        expect(c.namespace, c.id).toBe('http://www.w3.org/2000/svg');
        expect(c.width, c.id).toBeGreaterThan(300);
        expect(c.height, c.id).toBeGreaterThan(100);
        expect(c.title, c.id).toMatch(/^tiny: /);
        expect(c.legend, c.id).toEqual(drivers);
        expect(c.axes.length, c.id).toBeGreaterThan(0);
      }
      const [phases, usage, layers] = charts;
      expect(phases!.axes).toContain('time (ms)');
      expect(phases!.bars).toBeGreaterThanOrEqual(drivers.length * 10);
      expect(usage!.axes).toContain('inodes (count)');
      expect(usage!.bars).toBe(drivers.length * 3);
      expect(layers!.axes).toContain('layer (1 = base)');
      expect(layers!.lines).toBe(drivers.length);
    }, 90_000);

    it('makes a screenshot', async () => {
      const png = join(dir, 'report.png');
      await chromium(html, [`--screenshot=${png}`, '--window-size=1280,2000', '--hide-scrollbars']);
      const bytes = await readFile(png);
      expect(bytes.subarray(1, 4).toString()).toBe('PNG');
      expect(bytes.readUInt32BE(16)).toBe(1280); // IHDR width
    }, 90_000);
  },
);

describe('strata bench report', () => {
  it('merges two runs into one report and compares them', async () => {
    const b = join(dir, 'b.json');
    const slower: BenchResults = {
      ...results,
      label: 'run B',
      cells: results.cells.map((c) => ({
        ...c,
        summary: Object.fromEntries(
          Object.entries(c.summary).map(([p, s]) => [
            p,
            { ...s, median: s.median * 2, min: s.min * 2, max: s.max * 2 },
          ]),
        ),
      })),
    };
    await writeFile(b, JSON.stringify(slower));
    const out = join(dir, 'merged.html');
    const merged = await strata(['bench', 'report', json, b, '-o', out]);
    expect(merged.stderr).toBe('');
    expect(merged.code).toBe(0);
    expect(merged.stdout).toContain(`wrote ${out} (2 runs)`);
    expect(merged.stdout).toMatch(/2\.00x/);
    const page = await readFile(out, 'utf8');
    expect(page).toContain('strata snapshotter benchmarks compared');
    expect(page).toContain('run A vs run B');
    expect(page).toContain('run A · strata native');
    expect(page).toContain('run B · strata native');
    expect(page).not.toMatch(/(src|href)="https?:/);
  });

  it('gives exit 2 and one clear line for bad options', async () => {
    const cases: [string[], RegExp][] = [
      [['bench', 'report'], /bench report: missing arguments/],
      [['bench', 'report', json, '--nope'], /--nope/],
      [['bench', 'snapshotters', '--runs', '0'], /--runs must be a number from 1 to 1000/],
      [['bench', 'snapshotters', '--peers', 'docker'], /--peers must be containerd or none/],
      [['bench', 'snapshotters', '--profile', 'huge'], /profile "huge": unknown/],
      [['bench', 'snapshotters', '--snapshotters', 'zfs'], /snapshotter "zfs": unknown/],
    ];
    for (const [args, message] of cases) {
      const r = await strata(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });

  it('names the file that is not a results file (exit 1)', async () => {
    const r = await strata(['bench', 'report', html, '-o', join(dir, 'x.html')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`strata: results ${html}: not JSON\n`);
  });
});

describe("containerd's per-layer timings from its debug log", () => {
  it('reads prepare, apply and commit of each layer', () => {
    const at = (ms: number) =>
      `time="2026-11-30T04:37:48.${String(ms * 1000).padStart(6, '0')}000Z"`;
    const log = [
      `${at(100)} level=debug msg="prepare snapshot" key="extract-1 sha256:aa" parent=`,
      `${at(101)} level=debug msg="event published" ns=b topic=/snapshot/prepare type=x`,
      `${at(102)} level=debug msg="using pigz for decompression"`,
      `${at(120)} level=debug msg="diff applied" d=15.5ms digest="sha256:11" size=3`,
      `${at(121)} level=debug msg="commit snapshot" key="extract-1 sha256:aa" name="sha256:aa"`,
      `${at(124)} level=debug msg="event published" ns=b topic=/snapshot/commit type=x`,
      `${at(130)} level=debug msg="prepare snapshot" key="extract-2 sha256:bb" parent="sha256:aa"`,
      `${at(132)} level=debug msg="event published" ns=b topic=/snapshot/prepare type=x`,
      `${at(200)} level=debug msg="diff applied" d=1m2.5s digest="sha256:22" size=3`,
      `${at(201)} level=debug msg="commit snapshot" key="extract-2 sha256:bb" name="sha256:bb"`,
      `${at(202)} level=debug msg="event published" ns=b topic=/snapshot/commit type=x`,
    ].join('\n');
    const layers = layerTimings(log);
    expect(layers).toHaveLength(2);
    expect(layers[0]!.prepare).toBeCloseTo(0.001, 6);
    expect(layers[0]!.apply).toBeCloseTo(0.0155, 6);
    expect(layers[0]!.commit).toBeCloseTo(0.003, 6);
    expect(layers[1]!.prepare).toBeCloseTo(0.002, 6);
    expect(layers[1]!.apply).toBeCloseTo(62.5, 6);
    expect(layers[1]!.commit).toBeCloseTo(0.001, 6);
    expect(layerTimings('no log at all\n')).toEqual([]);
  });
});

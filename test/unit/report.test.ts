import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toJson } from '../../src/cli/_output.js';
import type { LimitsResult } from '../../src/limits/index.js';
import {
  type ReportInput,
  renderReport,
  resultKind,
  toReportInput,
} from '../../src/report/index.js';
import { internetTheory, theory } from '../../src/theory/index.js';
import {
  FIXTURE_EXPERIMENTS,
  FIXTURE_LIMITS,
  FIXTURE_MACHINE,
  FIXTURE_MAX,
  FIXTURE_PROOFS,
} from '../fixtures/report-render-sample.js';
import { cli } from '../helpers/cli.js';

const RANGE = { low: 32768, high: 60999, size: 28232, source: 'test' };

function full(): ReportInput {
  return {
    theory: {
      seed: theory({ machines: 2n, ports: 3n, portRange: RANGE }),
      ipv4: internetTheory('ipv4', RANGE),
    },
    experiments: { experiments: FIXTURE_EXPERIMENTS },
    proof: FIXTURE_PROOFS,
    limits: FIXTURE_LIMITS,
    max: FIXTURE_MAX,
    machine: FIXTURE_MACHINE,
  };
}

/** Every src= / href= attribute value in the page. */
function references(html: string): string[] {
  return [...html.matchAll(/\s(?:src|href|xlink:href|action|poster)\s*=\s*["']?([^"'\s>]*)/gi)].map(
    (m) => m[1] ?? '',
  );
}

describe('renderReport', () => {
  const html = renderReport(full());

  it('is one document with every section, in order', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<html/g)).toHaveLength(1);
    const ids = [...html.matchAll(/<section class="part" id="(\w+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(['theory', 'experiments', 'proof', 'practice', 'machine']);
  });

  it('contains the exact numbers as text, without JavaScript', () => {
    const text = html.replaceAll('<wbr>', '');
    expect(text).toMatch(/<th scope="row">exact<\/th><td class="num[^"]*">21</);
    expect(text).toMatch(/<th scope="row">popular 4-tuple<\/th><td class="num[^"]*">36</);
    const ipv4Exact = internetTheory('ipv4', RANGE).models.exact;
    expect(text).toContain(ipv4Exact.toLocaleString('en-US'));
    expect(text).toContain('one 4-tuple seen from both ends');
    expect(text).toContain('EADDRNOTAVAIL');
    expect(text).toContain('800,000');
    expect(text).toContain('Stopped: a wall: EMFILE at socket');
    expect(text).toContain('nofile.hard');
    expect(text).toContain('6.18.0-fixture');
    // the tables are in the markup itself, not built by a script
    expect(html.match(/<table/g)!.length).toBeGreaterThanOrEqual(8);
  });

  it('makes no network reference: no http(s) src/href, a CSP that forbids requests', () => {
    for (const ref of references(html)) {
      expect(ref).not.toMatch(/^(?:https?:)?\/\//i);
      expect(ref.startsWith('#') || ref.startsWith('data:')).toBe(true);
    }
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'/);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?https?:/i);
  });

  it('embeds Chart.js and the chart data inline', () => {
    expect(html).toContain('window.Chart=');
    expect(html).not.toContain('sourceMappingURL');
    const data = /<script type="application\/json" id="fourtuple-charts">([^<]*)<\/script>/.exec(
      html,
    );
    const charts = JSON.parse(data![1]!) as { id: string; series: unknown[] }[];
    expect(charts.map((c) => c.id.replace(/-\d+$/, ''))).toEqual([
      'chart-theory',
      'chart-theory',
      'chart-connections',
      'chart-rate',
      'chart-memory',
      'chart-failures',
    ]);
    for (const c of charts) expect(html).toContain(`<canvas id="${c.id}"`);
  });

  it('draws the proof graph: one edge per connection, self-connections as loops', () => {
    const svgs = [...html.matchAll(/<svg class="graph"[^>]*data-edges="(\d+)"[\s\S]*?<\/svg>/g)];
    expect(svgs.map((m) => m[1])).toEqual(['21', '78']);
    const first = svgs[0]![0];
    expect(first.match(/class="edge e-self"/g)).toHaveLength(6);
    expect(first.match(/class="edge e-between"/g)).toHaveLength(9);
    expect(first.match(/class="edge e-same"/g)).toHaveLength(6);
  });

  it('renders only the parts present', () => {
    const only = renderReport({ theory: theory({ machines: 2n, ports: 3n, portRange: RANGE }) });
    expect(only).toContain('id="theory"');
    for (const id of ['experiments', 'proof', 'practice', 'machine']) {
      expect(only).not.toContain(`id="${id}"`);
    }
    const none = renderReport({});
    expect(none).toContain('No results');
    expect(none).not.toContain('window.Chart=');
  });

  it('reads BigInts as decimal strings: the saved JSON renders the same page', () => {
    const saved = JSON.parse(toJson(full())) as ReportInput;
    expect(renderReport(saved)).toBe(html);
  });

  it('escapes text from the results', () => {
    const page = renderReport({
      experiments: [{ name: '<script>alert(1)</script>', matches: false, steps: [] }],
    });
    expect(page).not.toContain('<script>alert(1)');
    expect(page).toContain('&lt;script&gt;alert(1)');
    expect(page).toContain('differs');
  });

  it("accepts the limits module's result type as it is", () => {
    const fits = (r: LimitsResult): ReportInput => ({ limits: r });
    expect(typeof fits).toBe('function');
  });
});

describe('toReportInput', () => {
  const seed = JSON.parse(toJson(theory({ machines: 2n, ports: 3n, portRange: RANGE })));

  it('recognises each command by its fields', () => {
    expect(resultKind(seed)).toBe('theory');
    expect(resultKind({ experiments: FIXTURE_EXPERIMENTS })).toBe('demo');
    expect(resultKind(FIXTURE_PROOFS[0])).toBe('prove');
    expect(resultKind(FIXTURE_LIMITS)).toBe('limits');
    expect(resultKind(FIXTURE_MAX)).toBe('max');
    expect(resultKind({ theory: { seed }, machine: FIXTURE_MACHINE })).toBe('combined');
    expect(resultKind({ hello: 1 })).toBeUndefined();
    expect(resultKind([1, 2])).toBeUndefined();
  });

  it("keeps a limits result's machine estimate out of the machine description", () => {
    const r = toReportInput(FIXTURE_LIMITS)!;
    expect(r.limits).toBe(FIXTURE_LIMITS);
    expect(r.machine).toBeUndefined();
  });
});

describe('fourtuple report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fourtuple-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('renders a saved theory result and prints the path', async () => {
    const file = join(dir, 'theory.json');
    writeFileSync(file, JSON.stringify(seedJson()));
    const r = await cli(['report', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(join(dir, 'theory.html'));
    const page = readFileSync(join(dir, 'theory.html'), 'utf8');
    expect(page).toContain('id="theory"');
    expect(page).toContain('the machine that rendered the page');
  });

  it('-o chooses the file; a combined object renders every part', async () => {
    const file = join(dir, 'all.json');
    writeFileSync(file, toJson(full()));
    const out = join(dir, 'page.html');
    const r = await cli(['report', file, '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    const page = readFileSync(out, 'utf8');
    for (const id of ['theory', 'experiments', 'proof', 'practice', 'machine']) {
      expect(page).toContain(`id="${id}"`);
    }
  });

  it('refuses bad input with one line and exit 2', async () => {
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{nope');
    const other = join(dir, 'other.json');
    writeFileSync(other, '{"hello":1}');
    for (const [argv, msg] of [
      [['report'], /expects one RESULTS.json/],
      [['report', join(dir, 'missing.json')], /cannot be read \(ENOENT\)/],
      [['report', notJson], /is not JSON/],
      [['report', other], /is not a fourtuple result/],
      [['report', other, '-o', join(dir, 'no', 'such', 'x.html')], /is not a fourtuple result/],
    ] as const) {
      const r = await cli([...argv]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const file = join(dir, 'theory2.json');
    writeFileSync(file, JSON.stringify(seedJson()));
    const r = await cli(['report', file, '--out', join(dir, 'no', 'such', 'x.html')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out cannot write .*ENOENT/);
  });

  function seedJson(): unknown {
    return JSON.parse(toJson(theory({ machines: 2n, ports: 3n, portRange: RANGE })));
  }
});

describe('fourtuple tour writes the report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fourtuple-tour-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // The parts that touch the kernel are run by test/loopback/tour.test.ts.
  const onlyTheory = ['--skip', 'demo,prove,limits', '--skip', 'max'];

  it('--out FILE: the page has the theory and the machine; the path is printed last', async () => {
    const out = join(dir, 'tour.html');
    const r = await cli(['tour', '--out', out, ...onlyTheory]);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(`report: ${out}`);
    const page = readFileSync(out, 'utf8');
    expect(page).toContain('id="theory"');
    expect(page).toContain('id="machine"');
    expect(page).toContain('IPv4 address space');
    // the skipped parts are left out of the terminal and of the page
    for (const id of ['experiments', 'proof', 'practice']) expect(page).not.toContain(`id="${id}"`);
    expect(r.stdout).not.toMatch(/== (demo|prove|limits|max)/);
  });

  it('--json prints the combined object (the report reads it back); the path goes to stderr', async () => {
    const out = join(dir, 'tour-json.html');
    const r = await cli(['tour', '--out', out, '--json', ...onlyTheory]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.theory.seed.models.exact).toBe('21');
    expect(j.machine.node).toBe(process.version);
    expect(r.stderr.trim()).toBe(`report: ${out}`);
    expect(resultKind(j)).toBe('combined');
  });

  it('--skip of every part, or of an unknown one, is a usage error', async () => {
    const out = join(dir, 'skip.html');
    const all = await cli(['tour', '--out', out, ...onlyTheory, '--skip', 'theory']);
    expect(all.code).toBe(2);
    expect(all.stderr.trim()).toBe(
      'fourtuple tour: --skip leaves nothing to run (parts: theory, demo, prove, limits, max)',
    );
    const bad = await cli(['tour', '--out', out, '--skip', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'fourtuple tour: --skip must be one of theory, demo, prove, limits, max (got "nope")',
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe('the real result types fit the report', () => {
  it('MaxResult from src/scale is a MaxInput', async () => {
    type MaxResult = import('../../src/scale/coordinator.js').MaxResult;
    const fits = (r: MaxResult): ReportInput => ({ max: r });
    expect(typeof fits).toBe('function');
  });
});

/**
 * The report's pure side: the theory and the limits (read, not measured) rendered, what a page
 * may reference, and how a saved result is read: by its kind and version, never by its fields.
 * Results of the runs that touch the kernel are rendered by test/loopback/report-render.test.ts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toJson } from '../../src/cli/_output.js';
import { limits } from '../../src/limits/index.js';
import {
  describeMachine,
  type ReportInput,
  ResultError,
  readResult,
  renderReport,
  toReportInput,
} from '../../src/report/index.js';
import { RESULT_VERSION } from '../../src/result.js';
import { internetTheory, theory } from '../../src/theory/index.js';
import { cli, cliProcess } from '../helpers/cli.js';

const RANGE = { low: 32768, high: 60999, size: 28232, source: 'test' };

let input: ReportInput;
beforeAll(async () => {
  input = {
    theory: [theory({ machines: 2n, ports: 3n, portRange: RANGE }), internetTheory('ipv4', RANGE)],
    limits: await limits({ measure: false }),
    machine: describeMachine(new Date('2026-01-01T12:00:00Z')),
  };
});

/** Every src= / href= attribute value in the page. */
function references(html: string): string[] {
  return [...html.matchAll(/\s(?:src|href|xlink:href|action|poster)\s*=\s*["']?([^"'\s>]*)/gi)].map(
    (m) => m[1] ?? '',
  );
}

describe('renderReport', () => {
  const page = (): string => renderReport(input);

  it('is one document with the sections of the parts present, in order', () => {
    const html = page();
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<html/g)).toHaveLength(1);
    const ids = [...html.matchAll(/<section class="part" id="(\w+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(['theory', 'machine']);
  });

  it('contains the exact numbers and the limits as text, without JavaScript', () => {
    const text = page().replaceAll('<wbr>', '');
    expect(text).toMatch(/<th scope="row">exact<\/th><td class="num[^"]*">21</);
    expect(text).toMatch(/<th scope="row">popular 4-tuple<\/th><td class="num[^"]*">36</);
    expect(text).toContain(internetTheory('ipv4', RANGE).models.exact.toLocaleString('en-US'));
    expect(text).toContain('one 4-tuple seen from both ends');
    const l = input.limits!;
    expect(text).toContain(`<code>${l.binding}</code> <span class="badge warn">first wall`);
    expect(text).toContain('2026-01-01 12:00 UTC');
    expect(page().match(/<table/g)!.length).toBeGreaterThanOrEqual(3);
  });

  it('makes no network reference: no http(s) src/href, a CSP that forbids requests', () => {
    const html = page();
    for (const ref of references(html)) {
      expect(ref).not.toMatch(/^(?:https?:)?\/\//i);
      expect(ref.startsWith('#') || ref.startsWith('data:')).toBe(true);
    }
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'/);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?https?:/i);
  });

  it('embeds Chart.js and the chart data inline', () => {
    const html = page();
    expect(html).toContain('window.Chart=');
    expect(html).not.toContain('sourceMappingURL');
    const data = /<script type="application\/json" id="fourtuple-charts">([^<]*)<\/script>/.exec(
      html,
    );
    const charts = JSON.parse(data![1]!) as { id: string }[];
    expect(charts.map((c) => c.id.replace(/-\d+$/, ''))).toEqual(['chart-theory', 'chart-theory']);
    for (const c of charts) expect(html).toContain(`<canvas id="${c.id}"`);
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
    const saved = JSON.parse(toJson(input)) as ReportInput;
    expect(renderReport(saved)).toBe(page());
  });

  it('escapes text from the results', () => {
    const l = { ...input.limits!, answer: '<script>alert(1)</script>' };
    const html = renderReport({ limits: l });
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('&lt;script&gt;alert(1)');
  });
});

describe('readResult: a saved result is read by its kind and version', () => {
  const seed = (): Record<string, unknown> =>
    JSON.parse(toJson(theory({ machines: 2n, ports: 3n, portRange: RANGE })));

  it('takes a result of a known kind at this version as it is', () => {
    const r = readResult(seed());
    expect(r.kind).toBe('theory');
    expect(toReportInput(r).theory).toEqual(seed());
  });

  it.each([
    ['no kind', { hello: 1 }, /is not a fourtuple result \(no kind; expected/],
    ['an unknown kind', { ...{ kind: 'nope', version: 1 } }, /\(kind "nope"; expected/],
    ['a list', [1, 2], /is not a fourtuple result/],
    ['no version', { kind: 'theory' }, /without a valid version/],
  ])('refuses %s with FOURTUPLE_RESULT_UNKNOWN', (_what, value, message) => {
    expect(() => readResult(value, 'x.json')).toThrow(message);
    try {
      readResult(value);
    } catch (err) {
      expect(err).toBeInstanceOf(ResultError);
      expect((err as ResultError).code).toBe('FOURTUPLE_RESULT_UNKNOWN');
    }
  });

  it('refuses a newer version with FOURTUPLE_RESULT_VERSION', () => {
    const newer = { ...seed(), version: RESULT_VERSION + 1 };
    expect(() => readResult(newer, 'x.json')).toThrow(
      `x.json was written by a newer fourtuple (version ${RESULT_VERSION + 1}; this one reads up to ${RESULT_VERSION})`,
    );
    expect(() => readResult(newer)).toThrow(
      expect.objectContaining({ code: 'FOURTUPLE_RESULT_VERSION' }),
    );
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

  it('-o chooses the file', async () => {
    const file = join(dir, 'seed.json');
    writeFileSync(file, JSON.stringify(seedJson()));
    const out = join(dir, 'page.html');
    const r = await cli(['report', file, '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    expect(readFileSync(out, 'utf8')).toContain('id="theory"');
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

  it('as a process, refuses an unknown or missing kind and a newer version: one line, exit 2', () => {
    const cases = [
      [{ kind: 'nope', version: 1 }, 'is not a fourtuple result (kind "nope"; expected'],
      [{ hello: 1 }, 'is not a fourtuple result (no kind; expected'],
      [
        { ...(seedJson() as object), version: RESULT_VERSION + 1 },
        `was written by a newer fourtuple (version ${RESULT_VERSION + 1}; this one reads up to ${RESULT_VERSION})`,
      ],
    ] as const;
    for (const [i, [value, message]] of cases.entries()) {
      const file = join(dir, `refused-${i}.json`);
      writeFileSync(file, JSON.stringify(value));
      const r = cliProcess(['report', file]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const line = `fourtuple report: RESULTS.json "${file}" ${message}`;
      expect(r.stderr.startsWith(line), r.stderr).toBe(true);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(join(dir, `refused-${i}.html`))).toBe(false);
    }
  });

  function seedJson(): unknown {
    return JSON.parse(toJson(theory({ machines: 2n, ports: 3n, portRange: RANGE })));
  }
});

describe('fourtuple tour writes the report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fourtuple-tour-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // The parts that touch the kernel are run by test/loopback/tour.test.ts.
  const onlyTheory = ['--skip', 'demo,prove,limits', '--skip', 'max,tls'];

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
    expect(r.stdout).not.toMatch(/== (demo|prove|limits|max|tls)/);
  });

  it('--json prints the tour result, of kind tour (the report reads it back); the path goes to stderr', async () => {
    const out = join(dir, 'tour-json.html');
    const r = await cli(['tour', '--out', out, '--json', ...onlyTheory]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.theory.seed.models.exact).toBe('21');
    expect(j.machine.node).toBe(process.version);
    expect(r.stderr.trim()).toBe(`report: ${out}`);
    expect(j.kind).toBe('tour');
    expect(j.version).toBe(RESULT_VERSION);
    expect(readResult(j).kind).toBe('tour');
  });

  it('--skip of every part, or of an unknown one, is a usage error', async () => {
    const out = join(dir, 'skip.html');
    const all = await cli(['tour', '--out', out, ...onlyTheory, '--skip', 'theory']);
    expect(all.code).toBe(2);
    expect(all.stderr.trim()).toBe(
      'fourtuple tour: --skip leaves nothing to run (parts: theory, demo, prove, limits, max, tls)',
    );
    const bad = await cli(['tour', '--out', out, '--skip', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'fourtuple tour: --skip must be one of theory, demo, prove, limits, max, tls (got "nope")',
    );
    expect(existsSync(out)).toBe(false);
  });
});

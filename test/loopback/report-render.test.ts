/**
 * The report renders what real runs return: every part made on this kernel by the library
 * (test/helpers/report-results.ts), and the same results saved as JSON and read back by kind.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toJson } from '../../src/cli/_output.js';
import { esc } from '../../src/report/html.js';
import { readResult, renderReport, toReportInput } from '../../src/report/index.js';
import { runMax } from '../../src/scale/coordinator.js';
import { wallMeaning } from '../../src/sockets/errno.js';
import { cli } from '../helpers/cli.js';
import { REPORT_EXPERIMENTS, realResults } from '../helpers/report-results.js';

type Results = Awaited<ReturnType<typeof realResults>>;

const grouped = (v: bigint | number): string => v.toLocaleString('en-US');

describe('the report of real runs', () => {
  let r: Results;
  let html: string;
  let text: string;
  const dir = mkdtempSync(join(tmpdir(), 'fourtuple-report-render-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    r = await realResults();
    html = renderReport(toReportInput(r));
    text = html.replaceAll('<wbr>', '');
  }, 120_000);

  /** The HTML of one section. */
  const section = (id: string): string => {
    const m = new RegExp(`<section class="part" id="${id}"[\\s\\S]*?</section>`).exec(text);
    expect(m, `section ${id}`).not.toBeNull();
    return m![0];
  };

  it('has every section, in order', () => {
    const ids = [...html.matchAll(/<section class="part" id="(\w+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(['theory', 'experiments', 'proof', 'practice', 'machine']);
  });

  it("theory: every model's count for 2 x 3 and for the IPv4 space", () => {
    const s = section('theory');
    expect(s).toMatch(/<th scope="row">exact<\/th><td class="num[^"]*">21</);
    expect(s).toMatch(/<th scope="row">popular 4-tuple<\/th><td class="num[^"]*">36</);
    expect(s).toContain(grouped(r.theory.ipv4.models.exact));
  });

  it('experiments: one card each with its summary, prediction, explanation, folded steps and verdict', () => {
    const s = section('experiments');
    expect(r.experiments.experiments.map((e) => e.name)).toEqual(REPORT_EXPERIMENTS);
    for (const e of r.experiments.experiments) {
      const card = new RegExp(`<article class="exp" id="exp-${e.name}">[\\s\\S]*?</article>`).exec(
        s,
      );
      expect(card, e.name).not.toBeNull();
      expect(card![0]).toContain(`<code>${e.name}</code> <span class="badge good">as predicted`);
      expect(card![0]).toContain(`<span class="sub">${esc(e.summary)}</span>`);
      expect(card![0]).toContain(`<h4>Prediction</h4><p>${esc(e.predictionText)}</p>`);
      expect(card![0]).toContain(`<p class="why">${esc(e.explanation)}</p>`);
      expect(card![0]).toContain(
        `<details class="steps"><summary>The setup and its ${e.steps.length} socket calls`,
      );
    }
    // no raw dump of the result's objects
    expect(s).not.toMatch(/established: \d|outcomes:|sourcePorts:/);
    const { matched, experiments } = r.experiments.summary;
    expect(s).toContain(`${matched} of ${experiments} experiments did what fourtuple predicted`);
    // the kernel's refusal of the same 4-tuple, by errno name with its meaning
    expect(s).toMatch(/<span class="errno" title="[^"]+">EADDRNOTAVAIL<\/span>/);
  });

  it('proof: what was established, the graph of the listed connections, the refusals', () => {
    const s = section('proof');
    expect(s).toContain('2 machines x 3 ports on loopback: 21 connections established');
    expect(s).toContain('3 machines x 4 ports on loopback: 78 connections established');
    const edges = [...s.matchAll(/<svg class="graph"[^>]*data-edges="(\d+)"/g)].map((m) => m[1]);
    expect(edges).toEqual(['21', '78']);
    expect(s).toContain('21 connections drawn from the result');
    for (const errno of Object.keys(r.proof[0]!.attemptsRefused)) expect(s).toContain(errno);
  });

  it('practice: the peak, the wall that stopped it and what it means, the charts', () => {
    const s = section('practice');
    expect(r.max.stoppedBy.reason).toBe('wall');
    expect(r.max.stoppedBy.errno).toBe('EMFILE');
    expect(s).toContain(`<div class="v">${grouped(r.max.established)}</div>`);
    expect(s).toContain(
      `<div class="callout"><span class="icon" aria-hidden="true">!</span><div><strong>Stopped by a wall: EMFILE at ${r.max.stoppedBy.syscall}</strong>`,
    );
    expect(html).toContain(
      `<div class="s">stopped by a wall: EMFILE at ${r.max.stoppedBy.syscall}</div>`,
    );
    expect(s.toLowerCase()).toContain(esc(wallMeaning('EMFILE')).toLowerCase());
    expect(s).toMatch(/Failed attempts in the whole run: <span class="errno"[^>]*>EMFILE<\/span>/);
    const charts = [...s.matchAll(/<canvas id="chart-(\w+)-\d+"/g)].map((m) => m[1]);
    expect(charts).toEqual(['connections', 'rate', 'fill', 'memory', 'failures']);
  });

  it('practice: a run that reached the requested count is a success, in words that read', async () => {
    const max = await runMax({ connections: 50, workers: 1, holdMs: 0 });
    expect(max.stoppedBy.reason).toBe('target');
    const page = renderReport(toReportInput({ ...r, max }));
    expect(page).toContain(
      '<div class="callout good"><span class="icon" aria-hidden="true">&#10003;</span><div><strong>Reached the requested count</strong>',
    );
    expect(page).toContain('<div class="s">reached the requested count</div>');
    expect(page).not.toContain('stopped by reached');
  });

  it('machine: its kernel, and the limits with the binding one marked', () => {
    const s = section('machine');
    expect(s).toContain(r.machine.kernel!);
    expect(s).toContain(`<code>${r.limits.binding}</code> <span class="badge warn">first wall`);
    expect(s).toContain(`<p>${esc(r.limits.answer)}</p>`);
  });

  it('the saved JSON, read back by its kind, renders the same page', () => {
    const saved = readResult(JSON.parse(toJson(r)), 'the saved tour');
    expect(saved.kind).toBe('tour');
    expect(renderReport(toReportInput(saved))).toBe(html);
  });

  it('fourtuple report renders a saved result of each kind', async () => {
    const parts = {
      theory: [r.theory.seed, 'theory'],
      demo: [r.experiments, 'experiments'],
      prove: [r.proof[0]!, 'proof'],
      limits: [r.limits, 'machine'],
      max: [r.max, 'practice'],
      tour: [r, 'practice'],
    } as const;
    for (const [kind, [result, id]] of Object.entries(parts)) {
      expect(result.kind).toBe(kind);
      const file = join(dir, `${kind}.json`);
      writeFileSync(file, toJson(result));
      const out = await cli(['report', file]);
      expect(out.stderr, kind).toBe('');
      expect(out.code, kind).toBe(0);
      expect(readFileSync(join(dir, `${kind}.html`), 'utf8'), kind).toContain(`id="${id}"`);
    }
  });
});

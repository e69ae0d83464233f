/**
 * The main job, as a newcomer runs it: `fourtuple` with no command (what `npm start` runs),
 * every part on the real kernel, and the page it writes holds every section, filled from the
 * runs it just made.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { TOUR_MAX } from '../../src/cli/tour.js';
import { RESULT_VERSION } from '../../src/result.js';
import { TOUR_TLS } from '../../src/tour.js';
import { probeCharts } from '../helpers/browser.js';
import { BIN } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'fourtuple-tour-'));
const profile = mkdtempSync(join(tmpdir(), 'fourtuple-chromium-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
});
const CHROMIUM = '/usr/bin/chromium';
const PAGE = join(dir, 'fourtuple-report.html');

describe('the tour (fourtuple with no command)', () => {
  it('runs every part for real and writes a page with every section filled', () => {
    // Run where a user would: in a directory of their own, default output file name.
    const r = spawnSync(process.execPath, [BIN, '--json'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 180_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(r.stderr.trim()).toBe(`report: ${join(dir, 'fourtuple-report.html')}`);
    const j = JSON.parse(r.stdout);
    expect(j.kind).toBe('tour');
    expect(j.version).toBe(RESULT_VERSION);
    // theory: the seed's example and the IPv4 space
    expect(j.theory.seed.models.exact).toBe('21');
    expect(j.theory.ipv4.models.exact).toBe(
      ((2n ** 32n * 65535n * (2n ** 32n * 65535n + 1n)) / 2n).toString(),
    );
    // demo: every experiment ran against the kernel and came out as predicted
    expect(j.experiments.experiments.length).toBeGreaterThanOrEqual(17);
    expect(j.experiments.summary.differed).toEqual([]);
    // prove: 2 x 3 = 21 and 3 x 4 = 78, each connection listed for the graph
    expect(j.proof.map((p: { established: string }) => p.established)).toEqual(['21', '78']);
    expect(j.proof.map((p: { connections: unknown[] }) => p.connections.length)).toEqual([21, 78]);
    // limits: read and measured on this machine
    expect(j.limits.limits.length).toBeGreaterThan(5);
    // a certain measurement is used as it is; an uncertain one (a busy machine) falls back to the
    // stated default, and says why
    const per = j.limits.perConnection;
    if (j.limits.measured.certainty.certain) {
      expect(j.limits.measured.kernelBytesPerConnection).toBeGreaterThan(1000);
      expect(per.fallback).toBe(null);
    } else expect(per.fallback).toMatch(/\w/);
    expect(per.kernelBytes).toBeGreaterThan(1000);
    // max: every connection established, accepted and verified alive, torn down
    expect(j.max.established).toBe(TOUR_MAX.connections);
    expect(j.max.accepted).toBe(TOUR_MAX.connections);
    expect(j.max.alive).toBe(TOUR_MAX.connections);
    expect(j.max.stoppedBy.reason).toBe('target');
    expect(j.max.series.length).toBeGreaterThan(0);
    // tls: both certificate kinds handshaken, held and echoed, the first beside plain TCP
    const tls = j.tls.runs as { tls: { cert: string; baseline?: unknown }; alive: number }[];
    expect(tls.map((t) => t.tls.cert)).toEqual([...TOUR_TLS.certs]);
    expect(tls.map((t) => t.alive)).toEqual(TOUR_TLS.certs.map(() => TOUR_TLS.connections));
    expect(tls[0]!.tls.baseline).toBeDefined();
    const clean = [j.max, ...j.tls.runs].every(
      (m: { sockstat: { clean: boolean } }) => m.sockstat.clean,
    );
    expect(r.status).toBe(clean ? 0 : 1);

    const page = readFileSync(join(dir, 'fourtuple-report.html'), 'utf8');
    for (const id of ['theory', 'experiments', 'proof', 'practice', 'tls', 'machine']) {
      expect(page, `section ${id}`).toContain(`id="${id}"`);
    }
    // the proof graph is drawn from the connections the run listed, not derived
    expect(page).toContain('78 connections drawn from the result');
    expect(page).not.toMatch(/<script[^>]+src=/);
  }, 200_000);

  it.skipIf(!existsSync(CHROMIUM) && process.env.CI !== 'true')(
    "the tour's own page, from the runs above, opens in headless Chromium: every chart drawn, no error, no request",
    async () => {
      expect(existsSync(PAGE), 'the tour test above wrote the page').toBe(true);
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
        viewport: { width: 1280, height: 900 },
      });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        const problems: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
        });
        page.on('pageerror', (e) => problems.push(e.message));
        page.on('request', (r) => {
          if (!/^(file|data):/.test(r.url())) problems.push(`request ${r.url()}`);
        });
        await page.goto(pathToFileURL(PAGE).href, { waitUntil: 'load' });
        const charts = await probeCharts(page);
        // theory (2 charts: the seed and IPv4), and max's connections, rate and memory at least
        expect(charts.length).toBeGreaterThanOrEqual(5);
        for (const c of charts) {
          expect(c.datasets, c.id).toBe(c.expected);
          expect(c.painted, `${c.id} has painted pixels`).toBeGreaterThan(2000);
        }
        const edges = await page.$$eval('svg.graph', (svgs) =>
          svgs.map((s) => s.querySelectorAll('.edge').length),
        );
        expect(edges).toEqual([21, 78]);
        const out = join(import.meta.dirname, '..', '..', 'test-output');
        mkdirSync(out, { recursive: true });
        await page.screenshot({ path: join(out, 'tour.png'), fullPage: true });
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    },
    60_000,
  );
});

/**
 * Opens the generated report in headless Chromium (Debian's, driven by playwright-core) and
 * checks it the way a reader would see it: no console error, no network request, every chart
 * drawn with its series, the proof graph's edges. Saves screenshots to test-output/.
 *
 * Every part comes from a real run on loopback (test/helpers/report-results.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport, toReportInput } from '../../src/report/index.js';
import {
  CHROMIUM,
  chromiumLauncher,
  chromiumInstalled as installed,
  TEST_OUTPUT as OUT,
  probeCharts,
} from '../helpers/browser.js';
import { realResults } from '../helpers/report-results.js';

describe.skipIf(!installed)(
  `report in headless Chromium${installed ? '' : ` (skipped: ${CHROMIUM} not installed; apt-get install chromium)`}`,
  () => {
    let file: string;
    const { open, removeProfiles } = chromiumLauncher();

    let failureErrnos: number;

    beforeAll(async () => {
      const results = await realResults();
      failureErrnos = new Set(results.max.series.flatMap((x) => Object.keys(x.failures))).size;
      const html = renderReport(toReportInput(results));
      mkdirSync(OUT, { recursive: true });
      file = join(OUT, 'report.html');
      writeFileSync(file, html);
    }, 120_000);

    afterAll(removeProfiles);

    for (const scheme of ['light', 'dark'] as const) {
      it(`${scheme}: renders every chart with no console error and no network request`, async () => {
        const context = await open({
          viewport: { width: 1280, height: 900 },
          colorScheme: scheme,
          deviceScaleFactor: 1,
        });
        const page = context.pages()[0] ?? (await context.newPage());
        const errors: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning')
            errors.push(`${m.type()}: ${m.text()}`);
        });
        page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
        await page.route('**/*', (route) => {
          const url = route.request().url();
          if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
          requests.push(url);
          return route.abort();
        });
        page.on('request', (r) => {
          const url = r.url();
          if (!url.startsWith('file:') && !url.startsWith('data:') && !requests.includes(url)) {
            requests.push(url);
          }
        });
        await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

        const charts = await probeCharts(page);
        const summary = Object.fromEntries(
          charts.map((c) => [c.id.replace(/-\d+$/, ''), c.datasets] as const),
        );
        // what the results imply: 1 series per theory chart; the failures chart one per errno
        expect(charts).toHaveLength(7);
        expect(summary['chart-theory']).toBe(1);
        expect(failureErrnos).toBeGreaterThan(0);
        expect(summary['chart-failures']).toBe(failureErrnos);
        expect(summary['chart-memory']).toBe(2);
        for (const c of charts) {
          expect(c.datasets, c.id).toBe(c.expected);
          expect(c.width, c.id).toBeGreaterThan(100);
          expect(c.painted, `${c.id} has painted pixels`).toBeGreaterThan(2000);
        }

        const graphs = await page.$$eval('svg.graph', (svgs) =>
          svgs.map((s) => ({
            declared: Number(s.getAttribute('data-edges')),
            edges: s.querySelectorAll('.edge').length,
            loops: s.querySelectorAll('.e-self').length,
            box: s.getBoundingClientRect().width,
          })),
        );
        expect(graphs.map((g) => g.edges)).toEqual([21, 78]);
        expect(graphs.map((g) => g.loops)).toEqual([6, 12]);
        for (const g of graphs) expect(g.box).toBeGreaterThan(200);

        // the tables are there and visible
        const tables = await page.$$eval(
          'table',
          (t) => t.filter((x) => x.offsetHeight > 0).length,
        );
        expect(tables).toBeGreaterThanOrEqual(8);

        await page.screenshot({
          path: join(OUT, scheme === 'light' ? 'report.png' : 'report-dark.png'),
          fullPage: true,
        });
        expect(errors).toEqual([]);
        expect(requests).toEqual([]);
        await context.close();
      });
    }

    it('reads without JavaScript: the tables and numbers are in the page', async () => {
      const context = await open({ javaScriptEnabled: false });
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(pathToFileURL(file).href);
      const text = await page.innerText('#theory');
      expect(text).toMatch(/exact\s+21/);
      expect(text).toMatch(/popular 4-tuple\s+36/);
      expect(await page.$$eval('.chart', (c) => c.filter((x) => x.offsetHeight > 0).length)).toBe(
        0,
      );
      await context.close();
    });
  },
);

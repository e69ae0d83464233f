/**
 * The tour's page at 800 px and 1400 px in headless Chromium (Debian's, driven by
 * playwright-core): no table is wider than its section's card, the experiments are cards (one
 * a row on the narrow screen), and every experiment's prediction and explanation, as the JSON
 * carries them, is on screen as text, not in a tooltip or a folded <details>.
 *
 * The results are the tour's own parts run for real (test/helpers/report-results.ts), with the
 * whole demo catalogue as the tour runs it; the experiments that need a world of their own run
 * in a namespace where one can be made (this tier), and are otherwise skipped with the reason,
 * their prediction and explanation still shown.
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
} from '../helpers/browser.js';
import { realResults } from '../helpers/report-results.js';

/** Whitespace as innerText renders it: runs of spaces and line breaks are one space. */
const flat = (s: string): string => s.replace(/\s+/g, ' ').trim();

interface TableFit {
  section: string;
  table: string;
  /** the table's full width, scrolled or not */
  scrollWidth: number;
  /** the width inside its section's card (its padding taken off) */
  room: number;
}

describe.skipIf(!installed)(
  `the tour's page at 800 and 1400 px${installed ? '' : ` (skipped: ${CHROMIUM} not installed)`}`,
  () => {
    let file: string;
    let experiments: { name: string; of?: string; predictionText: string; explanation: string }[];
    const { open, removeProfiles } = chromiumLauncher();

    beforeAll(async () => {
      const results = await realResults('all');
      experiments = results.experiments.experiments;
      mkdirSync(OUT, { recursive: true });
      file = join(OUT, 'report-tour.html');
      writeFileSync(file, renderReport(toReportInput(results)));
    }, 120_000);

    afterAll(removeProfiles);

    for (const width of [800, 1400]) {
      it(`${width} px: every table fits its card, every experiment is a card with its prediction and explanation in view`, async () => {
        // the whole catalogue, as the tour runs it (skipped ones included)
        expect(experiments.length).toBeGreaterThan(100);
        const context = await open({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
        const page = context.pages()[0] ?? (await context.newPage());
        await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

        // a string, so this file needs no DOM types: it runs in the page
        const fits = (await page.evaluate(`[...document.querySelectorAll('table')]
          .filter((t) => t.offsetHeight > 0)
          .map((t) => {
            const card = t.closest('section.part');
            const cs = getComputedStyle(card);
            return {
              section: card.id,
              table: (t.querySelector('th') || t).textContent.slice(0, 40),
              scrollWidth: t.scrollWidth,
              room: card.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight),
            };
          })`)) as TableFit[];
        expect(fits.length).toBeGreaterThanOrEqual(8);
        const over = fits.filter((f) => f.scrollWidth > Math.ceil(f.room));
        expect(over, 'tables wider than their card').toEqual([]);
        // and nothing makes the page itself scroll sideways
        expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
          width,
        );

        // the experiments outside the bind matrix are cards: one a row at 800 px, two at 1400
        const cards =
          (await page.evaluate(`[...document.querySelectorAll('#experiments article.exp')]
          .map((a) => ({ id: a.id, left: Math.round(a.getBoundingClientRect().left),
            right: a.getBoundingClientRect().right,
            room: a.closest('section.part').getBoundingClientRect().right,
            folded: [...a.querySelectorAll('details')].every((d) => !d.open) }))`)) as {
            id: string;
            left: number;
            right: number;
            room: number;
            folded: boolean;
          }[];
        // (the bind matrix's 64 are its grid's cells, their rules written out under it)
        const carded = experiments.filter((e) => e.of !== 'exhausted-bind');
        expect(cards.map((c) => c.id).sort()).toEqual(carded.map((e) => `exp-${e.name}`).sort());
        for (const c of cards) {
          expect(c.right, c.id).toBeLessThanOrEqual(c.room);
          expect(c.folded, `${c.id}: its steps are folded`).toBe(true);
        }
        const columns = new Set(cards.map((c) => c.left)).size;
        expect(columns).toBe(width === 800 ? 1 : 2);

        // every prediction and explanation of the JSON is in the rendered text
        // biome-ignore lint/performance/useDomNodeTextContent: innerText is the rendered text, without what is hidden or folded: the point here
        const text = flat(await page.innerText('#experiments'));
        const missing = experiments.flatMap((e) => [
          ...(text.includes(flat(e.predictionText)) ? [] : [`${e.name}: prediction`]),
          ...(text.includes(flat(e.explanation)) ? [] : [`${e.name}: explanation`]),
        ]);
        expect(missing).toEqual([]);

        // the first screenful of the experiments (a full-page shot of a page this long is slow)
        await page.locator('#experiments h4.family').first().scrollIntoViewIfNeeded();
        await page.screenshot({ path: join(OUT, `report-tour-${width}.png`) });
        await context.close();
      }, 60_000);
    }
  },
);

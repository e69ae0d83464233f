/** Reading the report page in headless Chromium (playwright-core with Debian's chromium). */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumInstalled = existsSync(CHROMIUM);
if (!chromiumInstalled && process.env.CI === 'true') {
  throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium for the page tests`);
}
/** Where the page tests leave the pages and screenshots they made. */
export const TEST_OUTPUT = join(import.meta.dirname, '..', '..', 'test-output');

/**
 * Fresh headless Chromiums, each with its own temporary profile (the only way to pass
 * --user-data-dir); `removeProfiles()` (in afterAll) deletes the profiles.
 */
export function chromiumLauncher(): {
  open: (options?: BrowserContextOptions) => Promise<BrowserContext>;
  removeProfiles: () => void;
} {
  const profiles: string[] = [];
  return {
    open(options = {}) {
      const profile = mkdtempSync(join(tmpdir(), 'fourtuple-chromium-'));
      profiles.push(profile);
      return chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        ...options,
      });
    },
    removeProfiles() {
      for (const p of profiles.splice(0)) rmSync(p, { recursive: true, force: true });
    },
  };
}

export interface ChartProbe {
  id: string;
  /** the series count the page declares for the chart (data-series) */
  expected: number;
  /** the series Chart.js drew (0 when no chart is attached to the canvas) */
  datasets: number;
  width: number;
  /** pixels with any paint on them */
  painted: number;
}

/** Every canvas on the page: what it declares, what Chart.js drew, how much is painted. */
export async function probeCharts(page: Page): Promise<ChartProbe[]> {
  // a string, so this file needs no DOM types: it runs in the page
  return (await page.evaluate(`[...document.querySelectorAll('canvas')].map((c) => {
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
    const chart = window.Chart && window.Chart.getChart(c);
    return {
      id: c.id,
      expected: Number(c.dataset.series),
      datasets: chart ? chart.data.datasets.length : 0,
      width: c.width,
      painted,
    };
  })`)) as ChartProbe[];
}

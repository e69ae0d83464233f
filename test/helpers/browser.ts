/** Reading the report page in headless Chromium (playwright-core with Debian's chromium). */
import type { Page } from 'playwright-core';

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

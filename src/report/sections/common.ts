/**
 * What every section of the page shares: its shape, chart ids, a chart's figure, errno names
 * with their meaning. Each section returns its HTML and the charts it declares; a section whose
 * data is missing is never called. Tables carry every figure, so the page reads without
 * JavaScript; the charts only add pictures.
 */
import { ERRNO_MEANING, errnoMeaning } from '../../sockets/errno.js';
import type { ChartSpec } from '../charts.js';
import { esc } from '../html.js';

export interface Section {
  id: string;
  title: string;
  html: string;
  charts: ChartSpec[];
}

let chartSeq = 0;

/** A fresh id for a chart's canvas. */
export function chartId(prefix: string): string {
  chartSeq = (chartSeq + 1) % 1_000_000;
  return `chart-${prefix}-${chartSeq}`;
}

/** Resets chart ids so one input always renders the same page. */
export function resetChartIds(): void {
  chartSeq = 0;
}

/** A chart's canvas in a figure, with its caption (the data is in a table elsewhere). */
export function figure(spec: ChartSpec, caption: string, heading = ''): string {
  const series = spec.series.length;
  return (
    `<figure>${heading ? `<h4>${esc(heading)}</h4>` : ''}<div class="chart"><canvas id="${esc(spec.id)}" data-series="${series}" ` +
    `role="img" aria-label="${esc(spec.title)}"></canvas></div>` +
    `<figcaption>${esc(caption)}</figcaption></figure>`
  );
}

/**
 * An errno name, its meaning as a tooltip: `meaning` when the result gives one, else the one
 * line from src/sockets/errno.ts; none for a name that is not an errno (TIME_WAIT).
 */
export function errnoHtml(name: string, meaning?: string): string {
  const title = meaning ?? (name in ERRNO_MEANING ? errnoMeaning(name) : undefined);
  return `<span class="errno"${title ? ` title="${esc(title)}"` : ''}>${esc(name)}</span>`;
}

/** A step's or an attempt's result: ok, or the errno. */
export function resultHtml(result: string, meaning?: string): string {
  return result === 'ok' ? '<span class="ok">ok</span>' : errnoHtml(result, meaning);
}

/** One figure on a card: its name, the value, and a line under it. */
export function card(k: string, v: string, s = ''): string {
  return `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div>${s ? `<div class="s">${esc(s)}</div>` : ''}</div>`;
}

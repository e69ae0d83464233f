/**
 * The practice section's pictures of one `max` run's time series: connections against the
 * ceilings in reach, the rate, memory against connections, failures by errno; and the same
 * samples as a table for readers without JavaScript.
 */

import { cpuText, explainTail, ratesByFill } from '../../scale/rates.js';
import { errnoMeaning } from '../../sockets/errno.js';
import { formatBytes } from '../../units.js';
import type { ChartSeries, ChartSpec } from '../charts.js';
import { grouped, toNum } from '../html.js';
import type { LimitsInput, MaxInput, MaxSampleInput } from '../types.js';
import { chartId, errnoHtml, figure } from './common.js';

type Series = readonly MaxSampleInput[];

/** A chart and the figure that shows it. */
export interface Drawn {
  spec: ChartSpec;
  html: string;
}

/** Seconds since the start (samples carry milliseconds). */
const secs = (s: MaxSampleInput): number => s.t / 1000;

const SERIES_COLORS = ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6'];

/** Failures in each sample's interval, from the cumulative counts. */
function failuresPerInterval(series: Series, errno: string): number[] {
  return series.map((s, i) => {
    const before = i > 0 ? (series[i - 1]!.failures[errno] ?? 0) : 0;
    return Math.max(0, (s.failures[errno] ?? 0) - before);
  });
}

/** Ceilings worth a line on the connections chart: the run's own, and system-wide limits. */
function ceilingCandidates(max: MaxInput, limits: LimitsInput | undefined) {
  const out: { name: string; value: number }[] = [];
  const add = (name: string, v: number | undefined): void => {
    if (v !== undefined && Number.isFinite(v) && !out.some((c) => c.name === name)) {
      out.push({ name, value: v });
    }
  };
  const requested = typeof max.requested === 'number' ? max.requested : undefined;
  add('requested', requested);
  if (max.planned !== requested) add('planned', max.planned);
  add('fs.file-max', max.limits.fileMax);
  // per-process and per-destination limits bound one process or one pair, not the whole run
  for (const l of limits?.limits ?? []) {
    if (l.applies && l.scope === 'system') add(l.name, toNum(l.ceiling));
  }
  return out;
}

export function connectionsChart(
  max: MaxInput,
  limits: LimitsInput | undefined,
  stopHead: string,
): Drawn {
  const series = max.series;
  const t0 = secs(series[0]!);
  const t1 = secs(series[series.length - 1]!);
  const candidates = ceilingCandidates(max, limits);
  // a reduce, not Math.max(...series): a long run's series overflows the call stack as arguments
  const top = series.reduce((m, s) => Math.max(m, s.established), max.established);
  const shown = candidates.filter((c) => c.value <= top * 4).slice(0, 4);
  const off = candidates.filter((c) => !shown.includes(c));
  const peak = series.reduce((a, s) => (s.established > a.established ? s : a), series[0]!);
  const lines: ChartSeries[] = [
    {
      label: 'established',
      data: series.map((s) => ({ x: secs(s), y: s.established })),
      color: '--c1',
    },
    ...shown.map((c, i) => ({
      label: `${c.name}: ${grouped(Math.round(c.value))}`,
      data: [
        { x: t0, y: c.value },
        { x: t1, y: c.value },
      ],
      color: ['--bad', '--warn', '--c5', '--c6'][i]!,
      style: 'limit' as const,
    })),
    {
      label: stopHead,
      data: [{ x: secs(peak), y: peak.established }],
      color: '--warn',
      style: 'marker',
    },
  ];
  const spec: ChartSpec = {
    id: chartId('connections'),
    kind: 'line',
    title: 'Concurrent established connections over time, with limits as dashed lines',
    series: lines,
    x: { title: 'seconds since start', unit: 'seconds' },
    y: { title: 'connections', unit: 'count', min: 0 },
  };
  const offText = off.length
    ? `; off the chart: ${off.map((c) => `${c.name} ${grouped(Math.round(c.value))}`).join(', ')}`
    : '';
  const caption = `Dashed lines are ceilings within reach of this run${offText}.`;
  return { spec, html: figure(spec, caption, 'Connections over time') };
}

export function rateChart(series: Series): Drawn {
  const spec: ChartSpec = {
    id: chartId('rate'),
    kind: 'line',
    title: 'New connections per second over time',
    series: [
      {
        label: 'connections/s',
        data: series.map((s) => ({ x: secs(s), y: s.rate })),
        color: '--c3',
      },
    ],
    x: { title: 'seconds since start', unit: 'seconds' },
    y: { title: 'connections per second', unit: 'rate', min: 0 },
  };
  const caption = 'New established connections per second, per sample interval.';
  return { spec, html: figure(spec, caption, 'Connection rate') };
}

/**
 * Connect rate against fill level: connects per second in each tenth of the way to the peak
 * (0-10%, 10-20%, ...), the crossing times interpolated between samples. A flat line means the
 * last connections cost what the first did; the caption names the port strategy and the
 * flat-cost figure (80-90% against 10-20%).
 */
export function fillChart(max: MaxInput): Drawn {
  const ramp = max.series.filter((s) => s.t <= max.timing.rampMs);
  const byFill = ratesByFill(ramp, max.established);
  const strategy = max.portStrategy ?? 'kernel';
  const spec: ChartSpec = {
    id: chartId('fill'),
    kind: 'line',
    title: 'Connect rate against fill level',
    series: [
      {
        label: `connections/s (${strategy})`,
        data: byFill.flatMap((y, k) => (y === null ? [] : [{ x: k * 10 + 5, y }])),
        color: '--c2',
      },
    ],
    x: { title: '% of the peak count established' },
    y: { title: 'connections per second', unit: 'rate', min: 0 },
  };
  const f = max.flatCost;
  const ratio =
    f && f.ratio !== null
      ? ` Flat cost ${f.ratio}: the rate from 80% to 90% of the peak over the rate from 10% to 20%.`
      : '';
  const c = f?.cpu;
  const cpu =
    c?.per10To20 && c.per80To90
      ? ` The machine's CPU per connection: ${cpuText(c.per10To20)} from 10% to 20%, ${cpuText(c.per80To90)} from 80% to 90%.`
      : '';
  const why = f ? explainTail(f, max.limits?.pageReportingOrder) : undefined;
  const caption = `Connects per second in each tenth of the ramp, port strategy ${strategy}.${ratio}${cpu}${why ? ` Slower tail: ${why}.` : ''}`;
  return { spec, html: figure(spec, caption, 'Connect rate against fill level') };
}

export function memoryChart(series: Series, slab0: number): Drawn {
  const spec: ChartSpec = {
    id: chartId('memory'),
    kind: 'line',
    title: 'Memory against connections: kernel and fourtuple processes',
    series: [
      {
        label: 'kernel (Slab growth)',
        data: series.map((s) => ({ x: s.established, y: Math.max(0, s.slabBytes - slab0) })),
        color: '--c5',
      },
      {
        label: 'fourtuple processes (RSS)',
        data: series.map((s) => ({ x: s.established, y: s.rssBytes })),
        color: '--c2',
      },
    ],
    x: { title: 'connections established', unit: 'count' },
    y: { title: 'memory', unit: 'bytes', min: 0 },
  };
  const caption =
    'Kernel memory (growth of Slab since the start) and the resident memory of every fourtuple process.';
  return { spec, html: figure(spec, caption, 'Memory against connections') };
}

/** Every errno that failed an attempt during the run, sorted. */
export function failedErrnos(series: Series): string[] {
  return [...new Set(series.flatMap((s) => Object.keys(s.failures)))].sort();
}

export function failuresChart(series: Series, errnos: readonly string[]): Drawn {
  const spec: ChartSpec = {
    id: chartId('failures'),
    kind: 'stacked',
    title: 'Failed connection attempts per interval, by errno',
    labels: series.map((s) => `${+secs(s).toFixed(1)}`),
    series: errnos.map((e, i) => ({
      label: e,
      data: failuresPerInterval(series, e),
      color: SERIES_COLORS[(i + 3) % SERIES_COLORS.length]!,
    })),
    x: { title: 'seconds since start' },
    y: { title: 'failures', unit: 'count', min: 0 },
  };
  const caption = `Failed attempts per sample interval: ${errnos.map((e) => `${e} (${errnoMeaning(e)})`).join('; ')}.`;
  return { spec, html: figure(spec, caption, 'Failures by errno') };
}

/** A readable sample of the time series (at most ~24 rows), without JavaScript. */
export function seriesTable(series: Series, slab0: number, errnos: readonly string[]): string {
  const stride = Math.max(1, Math.ceil(series.length / 24));
  const perInterval = new Map(errnos.map((e) => [e, failuresPerInterval(series, e)] as const));
  const rows = series
    .map((s, i) => ({ s, i }))
    .filter(({ i }) => i % stride === 0 || i === series.length - 1)
    .map(({ s, i }) => {
      const fails = errnos
        .map((e) => [e, perInterval.get(e)![i] ?? 0] as const)
        .filter(([, n]) => n > 0)
        .map(([e, n]) => `${errnoHtml(e)} ${grouped(n)}`)
        .join(', ');
      return (
        `<tr><td class="num">${secs(s).toFixed(1)}</td><td class="num">${grouped(s.established)}</td>` +
        `<td class="num">${grouped(Math.round(s.rate))}</td>` +
        `<td class="num">${formatBytes(Math.max(0, s.slabBytes - slab0))}</td>` +
        `<td class="num">${formatBytes(s.rssBytes)}</td><td>${fails}</td></tr>`
      );
    });
  return (
    `<details><summary>The time series as a table (${rows.length} of ${series.length} samples)</summary><div class="table-wrap"><table>` +
    '<thead><tr><th class="num">t (s)</th><th class="num">established</th><th class="num">per second</th><th class="num">kernel memory</th><th class="num">process memory</th><th>failures in the interval</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table></div></details>`
  );
}

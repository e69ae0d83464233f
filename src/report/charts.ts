/**
 * Chart descriptions (data only, built on the server side) and the small browser script that
 * turns them into Chart.js charts, coloured from the page's CSS variables so they follow light
 * and dark mode. The script is plain ES5-level JavaScript kept as a string: it runs in the page,
 * not in Node.
 */
import { formatBytes } from '../units.js';

export type Unit = 'count' | 'bytes' | 'rate' | 'seconds';

export interface ChartSeries {
  label: string;
  /** category values (for `bars`) or points */
  data: readonly (number | null)[] | readonly { x: number; y: number }[];
  /** a CSS variable for the colour, e.g. --c1 */
  color: string;
  /** per-bar colours (CSS variables), for `bars` */
  colors?: readonly string[];
  /** how a series looks on a line chart */
  style?: 'line' | 'limit' | 'marker';
}

export interface ChartSpec {
  id: string;
  /** bars: horizontal bars by category; line: series over a linear x; stacked: stacked bars over categories */
  kind: 'bars' | 'line' | 'stacked';
  /** one-line description for screen readers */
  title: string;
  labels?: readonly string[];
  series: readonly ChartSeries[];
  /** text drawn at the end of each bar (the exact figure in short form) */
  barLabels?: readonly string[];
  x?: { title: string; unit?: Unit };
  y?: { title: string; unit?: Unit; log?: boolean; min?: number };
}

/** The page's script: builds every chart from the JSON in #fourtuple-charts. */
export const CLIENT_SCRIPT = `(function () {
  'use strict';
  var root = document.documentElement;
  root.classList.remove('no-js');
  var el = document.getElementById('fourtuple-charts');
  var specs = el ? JSON.parse(el.textContent || '[]') : [];
  if (!window.Chart || !specs.length) return;
  var Chart = window.Chart;
  var charts = [];
  function css(name) { return getComputedStyle(root).getPropertyValue(name).trim() || '#888'; }
  function alpha(color, a) {
    var m = /^#([0-9a-f]{6})$/i.exec(color);
    if (!m) return color;
    var n = parseInt(m[1], 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }
  function compact(v) {
    var a = Math.abs(v);
    if (a >= 1e15) return v.toExponential(0).replace('+', '');
    if (a >= 1e12) return +(v / 1e12).toPrecision(3) + 'T';
    if (a >= 1e9) return +(v / 1e9).toPrecision(3) + 'G';
    if (a >= 1e6) return +(v / 1e6).toPrecision(3) + 'M';
    if (a >= 1e4) return +(v / 1e3).toPrecision(3) + 'k';
    return String(+v.toPrecision(4));
  }
  // src/units.ts's formatBytes, its source text: the axes write bytes as the tables do
  var formatBytes = ${formatBytes.toString()};
  function fmt(unit, v) {
    if (unit === 'bytes') return formatBytes(v);
    if (unit === 'rate') return compact(v) + '/s';
    if (unit === 'seconds') return compact(v) + ' s';
    return compact(v);
  }
  function logTick(v, i, ticks) {
    var e = Math.log10(v);
    if (Math.abs(e - Math.round(e)) > 1e-9) return '';
    var first = Math.log10(ticks[0].value), last = Math.log10(ticks[ticks.length - 1].value);
    var step = Math.max(1, Math.ceil((last - first) / 7));
    if (Math.round(e) % step !== 0) return '';
    e = Math.round(e);
    return e <= 4 ? String(Math.pow(10, e)) : '1e' + e;
  }
  var barLabels = {
    id: 'ftBarLabels',
    afterDatasetsDraw: function (chart) {
      var labels = chart.$ftBarLabels;
      if (!labels) return;
      var ctx = chart.ctx;
      ctx.save();
      ctx.fillStyle = css('--text');
      ctx.font = '600 12px ' + css('--font-mono');
      ctx.textBaseline = 'middle';
      chart.getDatasetMeta(0).data.forEach(function (bar, i) {
        if (labels[i]) ctx.fillText(labels[i], bar.x + 6, bar.y);
      });
      ctx.restore();
    }
  };
  function axis(spec, which) {
    var a = spec[which] || {};
    var o = {
      grid: { color: css('--grid') },
      border: { color: css('--border') },
      ticks: { color: css('--muted'), maxRotation: 0, autoSkipPadding: 12 },
      title: a.title ? { display: true, text: a.title, color: css('--muted') } : { display: false }
    };
    if (a.log) {
      o.type = 'logarithmic'; o.ticks.callback = logTick; o.ticks.autoSkip = false;
      var grid = css('--grid');
      o.grid.color = function (c) { return c.tick && c.tick.label ? grid : 'transparent'; };
    }
    else if (a.unit) { o.ticks.callback = function (v) { return fmt(a.unit, v); }; }
    if (a.min !== undefined) o.min = a.min;
    return o;
  }
  function build(spec) {
    var datasets = spec.series.map(function (s) {
      var c = css(s.color);
      var d = { label: s.label, data: s.data };
      if (spec.kind === 'bars') {
        var cs = (s.colors || []).map(css);
        d.backgroundColor = cs.length ? cs.map(function (x) { return alpha(x, 0.85); }) : alpha(c, 0.85);
        d.borderWidth = 0;
        d.borderRadius = 3;
        d.barPercentage = 0.8;
        d.categoryPercentage = 0.9;
      } else if (spec.kind === 'stacked') {
        d.backgroundColor = alpha(c, 0.85);
        d.borderWidth = 0;
        d.stack = 'failures';
      } else if (s.style === 'limit') {
        d.borderColor = c; d.borderDash = [6, 4]; d.borderWidth = 1.5; d.pointRadius = 0;
        d.backgroundColor = c; d.fill = false; d.pointStyle = 'line';
      } else if (s.style === 'marker') {
        d.borderColor = c; d.backgroundColor = c; d.showLine = false;
        d.pointRadius = 7; d.pointHoverRadius = 8; d.pointStyle = 'rectRot';
      } else {
        d.borderColor = c; d.backgroundColor = alpha(c, 0.12); d.borderWidth = 2;
        d.pointRadius = s.data.length > 40 ? 0 : 2.5; d.tension = 0.15; d.fill = false;
      }
      return d;
    });
    var horizontal = spec.kind === 'bars';
    var x = axis(spec, 'x'), y = axis(spec, 'y');
    var scales;
    if (horizontal) {
      scales = { x: axis({ x: spec.y }, 'x'), y: { grid: { display: false }, ticks: { color: css('--text') } } };
    } else if (spec.kind === 'stacked') {
      x.stacked = true; y.stacked = true; scales = { x: x, y: y };
    } else {
      x.type = 'linear'; scales = { x: x, y: y };
    }
    return {
      type: spec.kind === 'line' ? 'line' : 'bar',
      data: { labels: spec.labels ? spec.labels.slice() : undefined, datasets: datasets },
      options: {
        indexAxis: horizontal ? 'y' : 'x',
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        normalized: true,
        layout: { padding: horizontal ? { right: 92 } : 4 },
        interaction: horizontal ? { mode: 'nearest', intersect: true } : { mode: 'nearest', intersect: false },
        plugins: {
          legend: {
            display: !horizontal,
            position: 'bottom',
            labels: { color: css('--text'), boxWidth: 12, boxHeight: 12, usePointStyle: true }
          },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var v = horizontal ? ctx.parsed.x : ctx.parsed.y;
                var unit = (spec.y && spec.y.unit) || 'count';
                var shown = spec.barLabels ? spec.barLabels[ctx.dataIndex] : fmt(unit, v);
                return (ctx.dataset.label ? ctx.dataset.label + ': ' : '') + shown;
              }
            }
          }
        },
        scales: scales
      },
      plugins: horizontal ? [barLabels] : []
    };
  }
  function render() {
    charts.forEach(function (c) { c.destroy(); });
    Chart.defaults.font.family = css('--font');
    Chart.defaults.color = css('--muted');
    charts = specs.map(function (spec) {
      var canvas = document.getElementById(spec.id);
      if (!canvas) return null;
      var chart = new Chart(canvas, build(spec));
      chart.$ftBarLabels = spec.barLabels;
      chart.update();
      canvas.setAttribute('data-rendered', String(chart.data.datasets.length));
      return chart;
    }).filter(Boolean);
  }
  render();
  if (window.matchMedia) {
    var mq = window.matchMedia('(prefers-color-scheme: dark)');
    if (mq.addEventListener) mq.addEventListener('change', render);
  }
})();`;

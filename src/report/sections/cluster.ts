/**
 * A cluster run's merged result: the roster, what the agents held together, one bar per agent
 * (established and alive), and the skew of their hold starts against the common window.
 */
import type { MergedResult } from '../../cluster/merge.js';
import type { ChartSpec } from '../charts.js';
import { esc, grouped } from '../html.js';
import type { Wire } from '../types.js';
import { card, chartId, figure, type Section } from './common.js';

function rosterLine(m: Wire<MergedResult>): string {
  const r = m.roster;
  const parts = [`${r.present.length} of ${r.expected} agents reported`];
  if (r.missing.length) parts.push(`missing: ${r.missing.join(', ')}`);
  if (r.failed.length) parts.push(`failed: ${r.failed.join(', ')}`);
  if (r.duplicate.length) parts.push(`duplicate index: ${r.duplicate.join(', ')}`);
  if (m.outsideWindow.length)
    parts.push(`outside the common window: ${m.outsideWindow.join(', ')}`);
  return parts.join('; ');
}

function agentsChart(m: Wire<MergedResult>): ChartSpec {
  return {
    id: chartId('cluster'),
    kind: 'bars',
    title: 'Connections established and alive, per agent',
    labels: m.agents.map((a) => `agent ${a.index}`),
    series: [
      { label: 'established', data: m.agents.map((a) => a.established), color: '--c1' },
      { label: 'alive', data: m.agents.map((a) => a.alive), color: '--good' },
    ],
    y: { title: 'connections' },
  };
}

function skewChart(m: Wire<MergedResult>): ChartSpec {
  const first = Math.min(...m.agents.map((a) => a.holdStart));
  return {
    id: chartId('cluster-skew'),
    kind: 'bars',
    title: 'When each agent started holding, ms after the first',
    labels: m.agents.map((a) => `agent ${a.index}`),
    series: [
      {
        label: 'hold start (ms after the first)',
        data: m.agents.map((a) => a.holdStart - first),
        color: '--c2',
      },
    ],
    y: { title: 'ms after the first agent' },
  };
}

function agentRows(m: Wire<MergedResult>): string {
  const first = Math.min(...m.agents.map((a) => a.holdStart));
  return m.agents
    .map((a) => {
      const state = a.error
        ? `error: ${a.error}`
        : m.outsideWindow.includes(a.index)
          ? 'outside the common window'
          : a.reached
            ? 'reached its share'
            : a.stoppedBy;
      return `<tr><td>${a.index}</td><td>${esc(a.pod)}</td><td>${esc(a.node)}</td><td>${esc(a.source)}</td><td class="num">${grouped(a.established)}</td><td class="num">${grouped(a.alive)}</td><td class="num">${grouped(a.dead)}</td><td class="num">${a.holdStart - first}</td><td>${esc(state)}</td></tr>`;
    })
    .join('');
}

export function clusterSection(m: Wire<MergedResult>): Section {
  const ok = m.verdict === 'complete';
  const windowMs = m.window ? m.window.end - m.window.start : 0;
  const cards = [
    card('verdict', m.verdict, rosterLine(m)),
    card('alive together', grouped(m.aliveInWindow), `in a common hold of ${grouped(windowMs)} ms`),
    card(
      'established in all',
      grouped(m.totals.established),
      `${grouped(m.totals.dead)} dead, ${grouped(m.totals.unverified)} unverified`,
    ),
    card('start skew', `${m.startSkewMs} ms`, 'latest minus earliest first connect'),
  ].join('');
  const charts = m.agents.length ? [agentsChart(m), skewChart(m)] : [];
  const html =
    `<p class="lead">${m.agents.length} agents, one machine each, started together by one barrier; connections are summed only over the window every counted agent held at once.</p>` +
    `<div class="cards${ok ? '' : ' warn'}">${cards}</div>` +
    (charts.length
      ? figure(charts[0]!, 'Bars per agent: established (peak) and verified alive.') +
        figure(
          charts[1]!,
          'The skew of the hold starts: how close to simultaneous the agents were.',
        )
      : '') +
    `<div class="table-wrap"><table><thead><tr><th>index</th><th>pod</th><th>node</th><th>source</th><th>established</th><th>alive</th><th>dead</th><th>hold start +ms</th><th>state</th></tr></thead><tbody>${agentRows(m)}</tbody></table></div>`;
  return { id: 'cluster', title: 'Cluster: every agent at once', html, charts };
}

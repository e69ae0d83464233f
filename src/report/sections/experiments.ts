/** The experiments section: each demo experiment, its prediction and what the kernel did. */
import { esc, grouped } from '../html.js';
import type { DemoInput, ExperimentInput } from '../types.js';
import { resultHtml, type Section } from './common.js';

type Outcomes = ExperimentInput['observed']['outcomes'];

function optionChips(variant: ExperimentInput['variant']): string {
  const entries = Object.entries(variant);
  if (!entries.length) return '<span class="muted">defaults</span>';
  return entries
    .map(([k, v]) =>
      typeof v === 'boolean'
        ? `<span class="chip ${v ? 'on' : 'off'}">${esc(k)}</span>`
        : `<span class="chip">${esc(k)}=${esc(v)}</span>`,
    )
    .join(' ');
}

function verdictBadge(matches: boolean): string {
  return matches
    ? '<span class="badge good">matches</span>'
    : '<span class="badge bad">differs</span>';
}

/** "C1 ok, C2 EADDRNOTAVAIL; 1 established", as `fourtuple demo` prints it. */
function outcomeLine(outcomes: Outcomes, established: number): string {
  const parts = Object.entries(outcomes).map(([id, o]) => `${id} ${o}`);
  return `${parts.join(', ')}${parts.length ? '; ' : ''}${grouped(established)} established`;
}

function experimentRow(r: ExperimentInput): string {
  const steps = r.steps
    .map(
      (s) =>
        `<li>${esc(s.socket)} ${esc(s.op)}${s.from ? ` ${esc(s.from)}` : ''}${s.to ? ` &rarr; ${esc(s.to)}` : ''}: ${resultHtml(s.result, s.meaning)}</li>`,
    )
    .join('');
  const topology = r.topology.map((t) => `<div>${esc(t)}</div>`).join('');
  const predicted = outcomeLine(r.predicted.outcomes, r.predicted.established);
  const observed = outcomeLine(r.observed.outcomes, r.observed.established);
  return (
    `<tr><th scope="row"><code>${esc(r.name)}</code><span class="sub">${esc(r.summary)}</span></th>` +
    `<td>${verdictBadge(r.matches)}</td>` +
    `<td class="topo">${topology || '<span class="muted">-</span>'}</td>` +
    `<td>${optionChips(r.variant)}</td>` +
    `<td>${esc(r.predictionText)}<div class="muted">${esc(predicted)}</div></td>` +
    `<td>${steps ? `<ol class="steps">${steps}</ol>` : ''}<div>${esc(observed)}</div></td></tr>`
  );
}

export function experimentsSection(demo: DemoInput): Section {
  const records = demo.experiments;
  const matched = records.filter((r) => r.matches).length;
  const intro = `${matched} of ${records.length} experiments did what fourtuple predicted. The kernel is the judge: a difference is shown, never hidden.`;
  const html =
    `<p class="intro">${esc(intro)}</p><div class="table-wrap"><table class="experiments">` +
    '<thead><tr><th>experiment</th><th>verdict</th><th>topology</th><th>options</th><th>prediction</th><th>what the kernel did</th></tr></thead>' +
    `<tbody>${records.map(experimentRow).join('')}</tbody></table></div>`;
  return { id: 'experiments', title: 'Experiments', html, charts: [] };
}

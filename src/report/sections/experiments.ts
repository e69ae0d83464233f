/** The experiments section: each demo experiment, its prediction and what the kernel did. */
import { esc, grouped } from '../html.js';
import type { DemoInput, ExperimentInput } from '../types.js';
import { resultHtml, type Section } from './common.js';
import { portGrids } from './port-grids.js';

type Outcomes = ExperimentInput['observed']['outcomes'];

function optionChips(variant: ExperimentInput['variant']): string {
  const entries = Object.entries(variant);
  if (!entries.length) return '<span class="muted">defaults</span>';
  return entries
    .map(([k, v]) =>
      typeof v === 'boolean'
        ? `<span class="chip ${v ? 'on' : 'off'}">${esc(k)}</span>`
        : Array.isArray(v)
          ? `<span class="chip">${esc(k)}=[${esc(v.join(', '))}]</span>`
          : `<span class="chip">${esc(k)}=${esc(v)}</span>`,
    )
    .join(' ');
}

function verdictBadge(r: ExperimentInput): string {
  if (r.skipped !== undefined) {
    return `<span class="badge neutral" title="${esc(r.skipped)}">skipped</span>`;
  }
  return r.matches
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
    `<td>${verdictBadge(r)}</td>` +
    `<td class="topo">${topology || '<span class="muted">-</span>'}</td>` +
    `<td>${optionChips(r.variant)}</td>` +
    `<td>${esc(r.predictionText)}<div class="muted">${esc(predicted)}</div></td>` +
    `<td>${steps ? `<ol class="steps">${steps}</ol>` : ''}<div>${esc(observed)}</div></td></tr>`
  );
}

export function experimentsSection(demo: DemoInput): Section {
  const records = demo.experiments;
  const matched = records.filter((r) => r.matches).length;
  const skipped = records.filter((r) => r.skipped !== undefined).length;
  const ran = records.length - skipped;
  const intro = `${matched} of ${ran} experiments did what fourtuple predicted${skipped ? ` (${skipped} more skipped: ${records.find((r) => r.skipped)?.skipped})` : ''}. The kernel is the judge: a difference is shown, never hidden.`;
  const ra = demo.summary.rangeAgreement;
  const agreement = ra
    ? `<p>Each experiment where ports run out ran twice: with the namespace's ip_local_port_range narrowed, and with every socket's own IP_LOCAL_PORT_RANGE instead. They agree on ${ra.agree} of ${ra.of}${ra.differ.length ? ` (not on ${esc(ra.differ.join(', '))})` : ''}.</p>`
    : '';
  const grids = agreement + portGrids(records);
  const rows = records.filter((r) => r.of !== 'exhausted-bind');
  const html =
    `<p class="intro">${esc(intro)}</p>${grids}${grids ? `<h3>Every experiment${rows.length < records.length ? ' (the bind matrix is the grid above)' : ''}</h3>` : ''}<div class="table-wrap"><table class="experiments">` +
    '<thead><tr><th>experiment</th><th>verdict</th><th>topology</th><th>options</th><th>prediction</th><th>what the kernel did</th></tr></thead>' +
    `<tbody>${rows.map(experimentRow).join('')}</tbody></table></div>`;
  return { id: 'experiments', title: 'Experiments', html, charts: [] };
}

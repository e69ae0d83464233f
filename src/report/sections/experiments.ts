/**
 * The experiments section: one card per experiment, grouped by family. A card says what was
 * predicted and what the kernel did in words, then why (the explanation); the setup and the
 * socket calls are folded under <details>. Cards sit two abreast on a wide screen and one under the other on a
 * narrow one, so nothing is cut off and there is no sideways scrolling.
 */
import { esc, grouped } from '../html.js';
import type { DemoInput, ExperimentInput } from '../types.js';
import { resultHtml, type Section } from './common.js';
import { portGrids } from './port-grids.js';

type Outcomes = ExperimentInput['observed']['outcomes'];

function optionChips(variant: ExperimentInput['variant']): string {
  const entries = Object.entries(variant);
  if (!entries.length) return '<span class="muted">default options</span>';
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
  if (r.skipped !== undefined) return '<span class="badge neutral">skipped</span>';
  return r.matches
    ? '<span class="badge good">as predicted</span>'
    : '<span class="badge bad">differs</span>';
}

/** "C1 ok, C2 connect EADDRNOTAVAIL; 1 established", the errno marked with its meaning. */
function outcomeHtml(outcomes: Outcomes, established: number): string {
  const parts = Object.entries(outcomes).map(([id, o]) => {
    const m = /^(\w+) (E[A-Z0-9]+)$/.exec(o);
    const what = m ? `${esc(m[1])} ${resultHtml(m[2]!)}` : resultHtml(o);
    return `${esc(id)} ${what}`;
  });
  const n = `${grouped(established)} connection${established === 1 ? '' : 's'} established`;
  return `${parts.join(', ')}${parts.length ? '; ' : ''}${n}`;
}

/** What the kernel did: the outcomes, and how they differ from the prediction when they do. */
function observedHtml(r: ExperimentInput): string {
  if (r.skipped !== undefined) return `<p>Not run: ${esc(r.skipped)}</p>`;
  const got = `<p>${outcomeHtml(r.observed.outcomes, r.observed.established)}.</p>`;
  return r.matches
    ? got
    : `${got}<p class="miss">Predicted instead: ${outcomeHtml(r.predicted.outcomes, r.predicted.established)}.</p>`;
}

/** The setup (who binds and listens where) and the socket calls, folded. */
function stepsHtml(r: ExperimentInput): string {
  if (!r.steps.length && !r.topology.length) return '';
  const topology = r.topology.map((t) => `<li>${esc(t)}</li>`).join('');
  const items = r.steps
    .map(
      (s) =>
        `<li>${esc(s.socket)} ${esc(s.op)}${s.from ? ` ${esc(s.from)}` : ''}${s.to ? ` &rarr; ${esc(s.to)}` : ''}${s.options?.length ? ` [${esc(s.options.join(', '))}]` : ''}: ${resultHtml(s.result, s.meaning)}${s.detail ? ` <span class="muted">(${esc(s.detail)})</span>` : ''}</li>`,
    )
    .join('');
  return (
    `<details class="steps"><summary>The setup and its ${r.steps.length} socket calls</summary>` +
    `${topology ? `<ul class="topo">${topology}</ul>` : ''}${items ? `<ol class="steps">${items}</ol>` : ''}</details>`
  );
}

/**
 * One experiment. `sameWhyAs` names an earlier card of the family with the very same
 * explanation: the card points at it rather than print the paragraph again.
 */
function experimentCard(r: ExperimentInput, sameWhyAs?: string): string {
  return (
    `<article class="exp" id="exp-${esc(r.name)}">` +
    `<header><code>${esc(r.name)}</code> ${verdictBadge(r)}<span class="sub">${esc(r.summary)}</span></header>` +
    `<div class="opts">${optionChips(r.variant)}</div>` +
    `<div class="pair"><div><h4>Prediction</h4><p>${esc(r.predictionText)}</p></div>` +
    `<div><h4>What the kernel did</h4>${observedHtml(r)}</div></div>` +
    (sameWhyAs
      ? `<h4>Why</h4><p class="why muted">As for <a href="#exp-${esc(sameWhyAs)}"><code>${esc(sameWhyAs)}</code></a>.</p>`
      : `<h4>Why</h4><p class="why">${esc(r.explanation)}</p>`) +
    stepsHtml(r) +
    '</article>'
  );
}

/** The cards, under one heading per family of experiments (diff-port and its variants). */
function families(rows: readonly ExperimentInput[]): string {
  const byFamily = new Map<string, ExperimentInput[]>();
  for (const r of rows) {
    const family = r.of ?? r.name;
    byFamily.set(family, [...(byFamily.get(family) ?? []), r]);
  }
  return [...byFamily]
    .map(([family, runs]) => {
      const firstWith = new Map<string, string>();
      const cards = runs.map((r) => {
        const first = firstWith.get(r.explanation);
        if (first === undefined) firstWith.set(r.explanation, r.name);
        return experimentCard(r, first);
      });
      return (
        `<h4 class="family"><code>${esc(family)}</code>${runs.length > 1 ? ` <span class="muted">${runs.length} variants</span>` : ''}</h4>` +
        `<div class="exps">${cards.join('')}</div>`
      );
    })
    .join('');
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
    `<p class="intro">${esc(intro)}</p>${grids}` +
    (grids
      ? `<h3>Every experiment${rows.length < records.length ? ' (the bind matrix is the grid above)' : ''}</h3>`
      : '') +
    families(rows);
  return { id: 'experiments', title: 'Experiments', html, charts: [] };
}

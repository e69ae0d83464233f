/**
 * `renderReport`: results to one self-contained HTML page. Scripts, styles and data are inline
 * and a Content-Security-Policy forbids every network request, so the file works offline from
 * disk. The charts use Chart.js, read from its UMD build in node_modules at render time.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MODEL_ORDER } from '../theory/index.js';
import { type ChartSpec, CLIENT_SCRIPT } from './charts.js';
import { esc, grouped, inlineJson } from './html.js';
import { clusterSection } from './sections/cluster.js';
import { card, resetChartIds, type Section } from './sections/common.js';
import { experimentsSection } from './sections/experiments.js';
import { formatDate, machineSection } from './sections/machine.js';
import { practiceSection, stopWords } from './sections/max.js';
import { proofSection } from './sections/proof.js';
import { theorySection } from './sections/theory.js';
import {
  fromLimits,
  fromMax,
  serverTimes,
  type TlsComparison,
  tlsSection,
  us,
} from './sections/tls.js';
import { STYLE } from './style.js';
import type { ProofInput, ReportInput, TheoryInput } from './types.js';

interface ChartLibrary {
  code: string;
  version: string;
}

let chartLibrary: ChartLibrary | undefined;

/** Chart.js's minified UMD build, which sets window.Chart; read once. */
export function chartLibrarySource(): ChartLibrary {
  if (!chartLibrary) {
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve('chart.js')); // .../chart.js/dist/chart.cjs
    const pkg = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    const code = readFileSync(join(dist, 'chart.umd.min.js'), 'utf8')
      .replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n')
      .replaceAll('</script', '<\\/script');
    chartLibrary = { code, version: pkg.version };
  }
  return chartLibrary;
}

/** A part that is one result or several, as a list. */
function list<T extends object>(part: T | readonly T[] | undefined): readonly T[] {
  if (part === undefined) return [];
  return Array.isArray(part) ? part : [part as T];
}

export const theoryList = (part: ReportInput['theory']): readonly TheoryInput[] => list(part);
export const proofList = (part: ReportInput['proof']): readonly ProofInput[] => list(part);

/** Every result with TLS figures: a `max --tls` run, the tour's TLS runs, `limits --tls`. */
function tlsComparisons(results: ReportInput): TlsComparison[] {
  return [
    ...(results.max ? [fromMax(results.max, 'max --tls')] : []),
    ...(results.tls ?? []).map((m) => fromMax(m, 'tour')),
    ...(results.limits ? [fromLimits(results.limits)] : []),
  ].filter((c) => c !== undefined);
}

/** The figures a reader wants first, one card per part present. */
function glance(results: ReportInput): string {
  const cards: string[] = [];
  const theory = theoryList(results.theory);
  const small = theory.find((t) => !t.family) ?? theory[0];
  if (small) {
    cards.push(
      card(
        `exact, ${grouped(small.machines)} x ${grouped(small.ports)}`,
        grouped(small.models.exact),
        `the popular answer says ${grouped(small.models.orderedTuples)}`,
      ),
    );
  }
  const demo = results.experiments;
  if (demo) {
    const { matched, experiments } = demo.summary;
    cards.push(card('experiments', `${matched} / ${experiments}`, 'did what was predicted'));
  }
  const proofs = proofList(results.proof);
  if (proofs[0]) {
    const p = proofs[0];
    cards.push(
      card(
        `proof, ${grouped(p.machines)} x ${grouped(p.ports)}`,
        grouped(p.established),
        'connections established on the kernel',
      ),
    );
  }
  if (results.max) {
    const { established, stoppedBy } = results.max;
    cards.push(card('held on this machine', grouped(established), stopWords(stoppedBy)));
  } else if (results.limits) {
    const { estimate, binding } = results.limits.machine;
    cards.push(
      card('this machine could hold', grouped(estimate), `connections; the wall: ${binding}`),
    );
  }
  const tls = tlsComparisons(results)[0];
  if (tls) {
    const times = serverTimes(tls);
    const plain = times ? ` (${times.toFixed(1)}x a plain accept)` : '';
    cards.push(card(`TLS handshake, ${tls.cert}`, us(tls.tls.serverUs), `of server CPU${plain}`));
  }
  return cards.length ? `<div class="cards">${cards.join('')}</div>` : '';
}

/** The sections for the parts present, in the page's order. */
function sectionsOf(results: ReportInput): Section[] {
  const sections: Section[] = [];
  const theory = theoryList(results.theory);
  if (theory.length) sections.push(theorySection(theory));
  if (results.experiments) sections.push(experimentsSection(results.experiments));
  const proofs = proofList(results.proof);
  if (proofs.length) sections.push(proofSection(proofs));
  if (results.max) sections.push(practiceSection(results.max, results.limits));
  const tls = tlsSection(tlsComparisons(results), results.tlsSkipped);
  if (tls) sections.push(tls);
  if (results.cluster) sections.push(clusterSection(results.cluster));
  if (results.machine || results.limits) {
    sections.push(machineSection(results.machine, results.limits));
  }
  return sections;
}

/** Renders results to one self-contained HTML document. Pure apart from reading Chart.js. */
export function renderReport(results: ReportInput): string {
  resetChartIds();
  const sections = sectionsOf(results);
  const charts: ChartSpec[] = sections.flatMap((s) => s.charts);
  const lib = charts.length ? chartLibrarySource() : undefined;
  const m = results.machine;
  const sub = [
    m?.date ? `Results from ${formatDate(m.date)}` : '',
    m?.kernel ? `Linux ${m.kernel}` : '',
    m?.cores !== undefined ? `${m.cores} cores` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const nav = sections.map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join('');
  const body = sections
    .map(
      (s) =>
        `<section class="part" id="${s.id}" aria-labelledby="${s.id}-h"><h2 id="${s.id}-h">${esc(s.title)}</h2>${s.html}</section>`,
    )
    .join('\n');
  const empty = sections.length
    ? ''
    : '<section class="part"><h2>No results</h2><p>This results object has no part the report can show.</p></section>';
  const modelsShown = results.theory ? MODEL_ORDER.length : 0;
  const scripts = lib
    ? `<script type="application/json" id="fourtuple-charts">${inlineJson(charts)}</script>\n` +
      `<script>/* Chart.js ${esc(lib.version)}, MIT License */\n${lib.code}</script>\n` +
      `<script>${CLIENT_SCRIPT}</script>`
    : `<script>document.documentElement.classList.remove('no-js');</script>`;
  return `<!doctype html>
<html lang="en" class="no-js">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="generator" content="fourtuple${m?.fourtuple ? ` ${esc(m.fourtuple)}` : ''}">
<title>fourtuple report</title>
<style>${STYLE}</style>
</head>
<body data-charts="${charts.length}" data-models="${modelsShown}">
<header class="top"><div class="wrap">
<h1>How many TCP connections can you make?</h1>
<p class="lede">The exact answer, what the kernel does, and what this machine holds.${sub ? ` ${esc(sub)}.` : ''}</p>
${results.cutShort ? `<p class="cut-short" role="alert"><strong>Cut short:</strong> ${esc(results.cutShort)}. This page shows what completed.</p>\n` : ''}${glance(results)}
<nav class="toc" aria-label="sections">${nav}</nav>
</div></header>
<main class="wrap">
${body}${empty}
</main>
<footer class="wrap"><p>Generated by fourtuple${m?.fourtuple ? ` ${esc(m.fourtuple)}` : ''}. This page is one self-contained file: it makes no network request${lib ? `; charts by Chart.js ${esc(lib.version)} (MIT), embedded` : ''}. Every figure is also in a table, so the page reads without JavaScript.</p></footer>
${scripts}
</body>
</html>
`;
}

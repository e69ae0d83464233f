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
import {
  experimentsSection,
  formatDate,
  machineSection,
  practiceSection,
  proofSection,
  resetChartIds,
  type Section,
  stopWords,
  theorySection,
} from './sections.js';
import { STYLE } from './style.js';
import type {
  ExperimentRecord,
  ExperimentsPart,
  ProofInput,
  ProofPart,
  ReportInput,
  TheoryInput,
  TheoryPart,
} from './types.js';

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

function isTheory(v: unknown): v is TheoryInput {
  return typeof v === 'object' && v !== null && 'models' in v && 'endpoints' in v;
}

/** A theory part as a list of results. */
export function theoryList(part: TheoryPart | undefined): TheoryInput[] {
  if (part === undefined) return [];
  if (Array.isArray(part)) return [...(part as readonly TheoryInput[])];
  if (isTheory(part)) return [part];
  return Object.values(part as Record<string, unknown>).filter(isTheory);
}

/** An experiments part as a list of records. */
export function experimentList(part: ExperimentsPart | undefined): ExperimentRecord[] {
  if (part === undefined) return [];
  if (Array.isArray(part)) return [...(part as readonly ExperimentRecord[])];
  return [...((part as { experiments?: readonly ExperimentRecord[] }).experiments ?? [])];
}

export function proofList(part: ProofPart | undefined): ProofInput[] {
  if (part === undefined) return [];
  return Array.isArray(part) ? [...(part as readonly ProofInput[])] : [part as ProofInput];
}

function card(k: string, v: string, s: string): string {
  return `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div><div class="s">${esc(s)}</div></div>`;
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
  const exps = experimentList(results.experiments);
  if (exps.length) {
    const judged = exps.filter((e) => e.matches !== undefined).length;
    const ok = exps.filter((e) => e.matches === true).length;
    cards.push(card('experiments', `${ok} / ${judged || exps.length}`, 'did what was predicted'));
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
    const stop = results.max.stoppedBy;
    cards.push(
      card(
        'held on this machine',
        grouped(results.max.established),
        stop === undefined ? 'peak concurrent' : `stopped by ${stopWords(stop)}`,
      ),
    );
  } else if (results.limits) {
    const l = results.limits;
    const est = l.machine?.estimate ?? l.estimate;
    const wall = l.machine?.binding ?? l.binding;
    if (est !== undefined) {
      cards.push(
        card(
          'this machine could hold',
          grouped(est),
          wall ? `connections; the wall: ${wall}` : 'connections (estimate)',
        ),
      );
    }
  }
  return cards.length ? `<div class="cards">${cards.join('')}</div>` : '';
}

/** Renders results to one self-contained HTML document. Pure apart from reading Chart.js. */
export function renderReport(results: ReportInput): string {
  resetChartIds();
  const sections: Section[] = [];
  const theory = theoryList(results.theory);
  if (theory.length) sections.push(theorySection(theory));
  const experiments = experimentList(results.experiments);
  if (experiments.length) sections.push(experimentsSection(experiments));
  const proofs = proofList(results.proof);
  if (proofs.length) sections.push(proofSection(proofs));
  if (results.max) sections.push(practiceSection(results.max, results.limits));
  if (results.machine || results.limits) {
    sections.push(machineSection(results.machine, results.limits));
  }
  const charts: ChartSpec[] = sections.flatMap((s) => s.charts);
  const lib = charts.length ? chartLibrarySource() : undefined;
  const title = results.title ?? 'fourtuple report';
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
  const modelsShown = theory.length ? MODEL_ORDER.length : 0;
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
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body data-charts="${charts.length}" data-models="${modelsShown}">
<header class="top"><div class="wrap">
<h1>How many TCP connections can you make?</h1>
<p class="lede">The exact answer, what the kernel does, and what this machine holds.${sub ? ` ${esc(sub)}.` : ''}</p>
${glance(results)}
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

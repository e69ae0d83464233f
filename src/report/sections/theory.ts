/** The theory section: every model's count for each result, with a chart and the derivations. */
import {
  DOUBLE_COUNT_EXPLANATION,
  MODEL_DERIVATION,
  MODEL_LABEL,
  MODEL_ORDER,
  type ModelName,
  toScientific,
} from '../../theory/index.js';
import type { ChartSpec } from '../charts.js';
import { esc, grouped, groupedHtml, toBig } from '../html.js';
import type { Count, TheoryInput } from '../types.js';
import { chartId, figure, type Section } from './common.js';

/** Each model's count as a bigint (saved results carry them as strings). */
export function modelBigInts(
  models: Readonly<Partial<Record<ModelName, Count>>>,
  fallback?: Readonly<Record<ModelName, bigint>>,
): Record<ModelName, bigint> {
  return Object.fromEntries(
    MODEL_ORDER.map((k) => [k, toBig(models[k]) ?? fallback?.[k] ?? 0n]),
  ) as Record<ModelName, bigint>;
}

/** The exact model's row in green, the popular 4-tuple answer's in orange. */
export function modelRowClass(k: ModelName): string {
  return k === 'exact' ? ' class="hl-good"' : k === 'orderedTuples' ? ' class="hl-warn"' : '';
}

function scientific(v: bigint): string {
  return v.toString().length > 7 ? toScientific(v, 3) : grouped(v);
}

function heading(r: TheoryInput): string {
  const family = r.family === 'ipv6' ? 'IPv6' : r.family === 'ipv4' ? 'IPv4' : r.family;
  if (family) {
    return `The whole ${esc(family)} address space: ${grouped(r.machines)} addresses x ${grouped(r.ports)} ports`;
  }
  const plural = toBig(r.machines) === 1n ? '' : 's';
  return `${grouped(r.machines)} machine${plural} x ${grouped(r.ipsPerMachine)} IP x ${grouped(r.ports)} ports`;
}

function modelRows(models: Record<ModelName, bigint>, huge: boolean): string {
  const exact = models.exact;
  return MODEL_ORDER.map((k) => {
    const v = models[k];
    const r4 = exact > 0n ? Number((v * 10000n) / exact) / 10000 : 0;
    const ratio = v === 0n ? '0' : r4 < 0.01 ? '&lt;0.01' : r4.toFixed(2);
    return (
      `<tr${modelRowClass(k)}><th scope="row">${esc(MODEL_LABEL[k])}</th>` +
      `<td class="num big${grouped(v).length <= 52 ? ' nowrap' : ''}">${groupedHtml(v)}${huge ? `<span class="sub">${esc(scientific(v))}</span>` : ''}</td>` +
      `<td class="num">${ratio}x</td></tr>`
    );
  }).join('');
}

function modelChart(models: Record<ModelName, bigint>, head: string): ChartSpec {
  const digits = MODEL_ORDER.filter((k) => models[k] > 0n).map((k) => `${models[k]}`.length);
  // one decade below the smallest count, so its bar shows; never below 1
  const floorExp = Math.max(0, (digits.length ? Math.min(...digits) : 1) - 2);
  return {
    id: chartId('theory'),
    kind: 'bars',
    title: `Connections under each model for ${head.replaceAll(/<[^>]+>/g, '')}, log scale`,
    labels: MODEL_ORDER.map((k) => MODEL_LABEL[k]),
    series: [
      {
        label: 'connections',
        data: MODEL_ORDER.map((k) => (models[k] > 0n ? Number(models[k]) : null)),
        color: '--neutral',
        colors: MODEL_ORDER.map((k) =>
          k === 'exact' ? '--good' : k === 'orderedTuples' ? '--warn' : '--c1',
        ),
      },
    ],
    barLabels: MODEL_ORDER.map((k) => scientific(models[k])),
    y: { title: 'connections (log scale)', log: true, min: 10 ** floorExp },
  };
}

function theoryBlock(r: TheoryInput, charts: ChartSpec[]): string {
  const models = modelBigInts(r.models);
  const huge = MODEL_ORDER.some((k) => models[k].toString().length > 12);
  const head = heading(r);
  const spec = modelChart(models, head);
  charts.push(spec);
  return (
    `<h3>${head} = ${grouped(r.endpoints)} endpoints (N)</h3>` +
    `<div class="grid2 ${huge ? 'wider-left' : 'wide-left'}"><div class="table-wrap"><table>` +
    `<thead><tr><th>model</th><th class="num">connections</th><th class="num">vs exact</th></tr></thead>` +
    `<tbody>${modelRows(models, huge)}</tbody></table></div>` +
    `${figure(spec, 'Each model on a log scale; green is the exact count, orange the popular 4-tuple answer.')}</div>`
  );
}

export function theorySection(results: readonly TheoryInput[]): Section {
  const charts: ChartSpec[] = [];
  const blocks = results.map((r) => theoryBlock(r, charts));
  const derivations = `<h3>How each model counts</h3><p class="muted">N endpoints, n machines, E = N/n endpoints per machine.</p><dl class="derive">${MODEL_ORDER.map(
    (k) => `<dt>${esc(MODEL_LABEL[k])}</dt><dd>${esc(MODEL_DERIVATION[k])}</dd>`,
  ).join('')}</dl>`;
  const pd = results[0]?.perDestination;
  const practical = pd
    ? `<p>In practice one source IP reaches one destination ip:port at most <strong>${grouped(pd.connections)}</strong> times: ${esc(pd.why)} (ephemeral ports ${pd.low}-${pd.high}, from <code>${esc(pd.source)}</code>).</p>`
    : '';
  const html =
    blocks.join('') +
    derivations +
    practical +
    `<p class="explain"><strong>Why (nm)^2 double counts.</strong> ${esc(DOUBLE_COUNT_EXPLANATION)}</p>`;
  return { id: 'theory', title: 'Theory', html, charts };
}

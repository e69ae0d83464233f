/**
 * One function per section of the page. Each returns its HTML and the charts it declares; a
 * section whose data is missing is never called. Tables carry every figure, so the page reads
 * without JavaScript; the charts only add pictures.
 */

import { errnoMeaning, wallMeaning } from '../sockets/errno.js';
import {
  countModels,
  DOUBLE_COUNT_EXPLANATION,
  MODEL_DERIVATION,
  MODEL_LABEL,
  MODEL_ORDER,
  type ModelName,
  toScientific,
} from '../theory/index.js';
import type { ChartSeries, ChartSpec } from './charts.js';
import {
  connectionGraphSvg,
  GRAPH_MAX_ENDPOINTS,
  type GraphEndpoint,
  splitEndpoint,
} from './graph.js';
import { bytes, describe, duration, esc, grouped, groupedHtml, toBig, toNum } from './html.js';
import type {
  Count,
  ExperimentRecord,
  LimitsInput,
  MachineInfo,
  MaxInput,
  MaxSample,
  ProofInput,
  TheoryInput,
} from './types.js';

export interface Section {
  id: string;
  title: string;
  html: string;
  charts: ChartSpec[];
}

let chartSeq = 0;
function chartId(prefix: string): string {
  chartSeq = (chartSeq + 1) % 1_000_000;
  return `chart-${prefix}-${chartSeq}`;
}

/** Resets chart ids so one input always renders the same page. */
export function resetChartIds(): void {
  chartSeq = 0;
}

function figure(spec: ChartSpec, caption: string, tall = false, heading = ''): string {
  const series = spec.series.length;
  return (
    `<figure>${heading ? `<h4>${esc(heading)}</h4>` : ''}<div class="chart${tall ? ' tall' : ''}"><canvas id="${esc(spec.id)}" data-series="${series}" ` +
    `role="img" aria-label="${esc(spec.title)}"></canvas></div>` +
    `<figcaption>${esc(caption)}</figcaption></figure>`
  );
}

function errnoHtml(name: string): string {
  return `<span class="errno" title="${esc(errnoMeaning(name))}">${esc(name)}</span>`;
}

function resultHtml(result: string): string {
  return result === 'ok' ? '<span class="ok">ok</span>' : errnoHtml(result);
}

// ---------------------------------------------------------------------------------------------
// theory

function scientific(v: bigint): string {
  return v.toString().length > 7 ? toScientific(v, 3) : grouped(v);
}

export function theorySection(results: readonly TheoryInput[]): Section {
  const charts: ChartSpec[] = [];
  const blocks = results.map((r) => {
    const models = Object.fromEntries(
      MODEL_ORDER.map((k) => [k, toBig(r.models[k]) ?? 0n]),
    ) as Record<ModelName, bigint>;
    const exact = models.exact;
    const huge = MODEL_ORDER.some((k) => models[k].toString().length > 12);
    const machines = toBig(r.machines) ?? 0n;
    const family = r.family === 'ipv6' ? 'IPv6' : r.family === 'ipv4' ? 'IPv4' : r.family;
    const head = family
      ? `The whole ${esc(family)} address space: ${grouped(r.machines)} addresses x ${grouped(r.ports)} ports`
      : `${grouped(r.machines)} machine${machines === 1n ? '' : 's'} x ${grouped(r.ipsPerMachine)} IP x ${grouped(r.ports)} ports`;
    const rows = MODEL_ORDER.map((k) => {
      const v = models[k];
      const r4 = exact > 0n ? Number((v * 10000n) / exact) / 10000 : 0;
      const ratio = v === 0n ? '0' : r4 < 0.01 ? '&lt;0.01' : r4.toFixed(2);
      const cls =
        k === 'exact' ? ' class="hl-good"' : k === 'orderedTuples' ? ' class="hl-warn"' : '';
      return (
        `<tr${cls}><th scope="row">${esc(MODEL_LABEL[k])}</th>` +
        `<td class="num big${grouped(v).length <= 52 ? ' nowrap' : ''}">${groupedHtml(v)}${huge ? `<span class="sub">${esc(scientific(v))}</span>` : ''}</td>` +
        `<td class="num">${ratio}x</td></tr>`
      );
    }).join('');
    const digits = MODEL_ORDER.filter((k) => models[k] > 0n).map((k) => `${models[k]}`.length);
    // one decade below the smallest count, so its bar shows; never below 1
    const floorExp = Math.max(0, (digits.length ? Math.min(...digits) : 1) - 2);
    const spec: ChartSpec = {
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
    charts.push(spec);
    return (
      `<h3>${head} = ${grouped(r.endpoints)} endpoints (N)</h3>` +
      `<div class="grid2 ${huge ? 'wider-left' : 'wide-left'}"><div class="table-wrap"><table>` +
      `<thead><tr><th>model</th><th class="num">connections</th><th class="num">vs exact</th></tr></thead>` +
      `<tbody>${rows}</tbody></table></div>` +
      `${figure(spec, 'Each model on a log scale; green is the exact count, orange the popular 4-tuple answer.')}</div>`
    );
  });
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

// ---------------------------------------------------------------------------------------------
// experiments

function optionChips(options: Readonly<Record<string, unknown>> | undefined): string {
  if (!options) return '<span class="muted">defaults</span>';
  return Object.entries(options)
    .map(([k, v]) =>
      typeof v === 'boolean'
        ? `<span class="chip ${v ? 'on' : 'off'}">${esc(k)}</span>`
        : `<span class="chip">${esc(k)}=${esc(describe(v))}</span>`,
    )
    .join(' ');
}

function verdictBadge(matches: boolean | undefined): string {
  if (matches === true) return '<span class="badge good">matches</span>';
  if (matches === false) return '<span class="badge bad">differs</span>';
  return '<span class="badge neutral">not judged</span>';
}

export function experimentsSection(records: readonly ExperimentRecord[]): Section {
  const judged = records.filter((r) => r.matches !== undefined);
  const matched = records.filter((r) => r.matches === true).length;
  const rows = records
    .map((r) => {
      const steps = (r.steps ?? [])
        .map(
          (s) =>
            `<li>${esc(s.op)}${s.from ? ` ${esc(s.from)}` : ''}${s.to ? ` &rarr; ${esc(s.to)}` : ''}: ${resultHtml(s.result)}</li>`,
        )
        .join('');
      const observed = describe(r.observed);
      const established =
        r.established !== undefined ? `<div>${grouped(r.established)} established</div>` : '';
      return (
        `<tr><th scope="row"><code>${esc(r.name)}</code>${r.title ? `<span class="sub">${esc(r.title)}</span>` : ''}</th>` +
        `<td>${verdictBadge(r.matches)}</td>` +
        `<td class="topo">${esc(describe(r.topology)) || '<span class="muted">-</span>'}</td>` +
        `<td>${optionChips(r.variant ?? r.options)}</td>` +
        `<td>${esc(describe(r.predicted)) || '<span class="muted">-</span>'}</td>` +
        `<td>${steps ? `<ol class="steps">${steps}</ol>` : ''}${established}${observed ? `<div>${esc(observed)}</div>` : ''}</td></tr>`
      );
    })
    .join('');
  const intro = judged.length
    ? `${matched} of ${judged.length} experiments did what fourtuple predicted. The kernel is the judge: a difference is shown, never hidden.`
    : 'Each experiment: what fourtuple predicted, and what the kernel did.';
  const html =
    `<p class="intro">${esc(intro)}</p><div class="table-wrap"><table class="experiments">` +
    '<thead><tr><th>experiment</th><th>verdict</th><th>topology</th><th>options</th><th>prediction</th><th>what the kernel did</th></tr></thead>' +
    `<tbody>${rows}</tbody></table></div>`;
  return { id: 'experiments', title: 'Experiments', html, charts: [] };
}

// ---------------------------------------------------------------------------------------------
// proof

interface GraphData {
  endpoints: GraphEndpoint[];
  edges: { from: string; to: string }[];
  derived: boolean;
}

function proofGraph(p: ProofInput, N: bigint, exact: bigint): GraphData | undefined {
  if (p.connections?.length) {
    const byIp = new Map<string, string>();
    p.machineIps?.forEach((ips, i) => {
      for (const ip of ips) byIp.set(ip, `machine ${i + 1}`);
    });
    p.machineList?.forEach((m, i) => {
      if (!byIp.has(m.address)) byIp.set(m.address, `machine ${i + 1}`);
    });
    const edges = p.connections.map((c) =>
      'a' in c ? { from: c.a, to: c.b } : { from: c.from, to: c.to },
    );
    const ids: string[] = [];
    const seen = new Set<string>();
    for (const c of edges) {
      for (const id of [c.from, c.to]) {
        if (!seen.has(id)) {
          seen.add(id);
          ids.push(id);
        }
      }
    }
    const endpoints = ids
      .map((id) => {
        const { ip, port } = splitEndpoint(id);
        return { id, machine: byIp.get(ip) ?? ip, label: port, port: Number(port) };
      })
      .sort(
        (a, b) => a.machine.localeCompare(b.machine, 'en', { numeric: true }) || a.port - b.port,
      );
    return {
      endpoints,
      edges,
      derived: false,
    };
  }
  // Without the list, a complete construction is still fully known: every pair, every self.
  if (toBig(p.established) !== exact || N > BigInt(GRAPH_MAX_ENDPOINTS)) return undefined;
  const machines = Number(toBig(p.machines) ?? 0n);
  const perMachine = Number(N) / Math.max(machines, 1);
  const endpoints: GraphEndpoint[] = [];
  for (let m = 0; m < machines; m++) {
    for (let e = 0; e < perMachine; e++) {
      endpoints.push({
        id: `m${m + 1}:p${e + 1}`,
        machine: `machine ${m + 1}`,
        label: `p${e + 1}`,
      });
    }
  }
  const edges: { from: string; to: string }[] = [];
  for (let i = 0; i < endpoints.length; i++) {
    for (let j = i; j < endpoints.length; j++) {
      edges.push({ from: endpoints[i]!.id, to: endpoints[j]!.id });
    }
  }
  return { endpoints, edges, derived: true };
}

function compare(established: bigint, model: bigint): string {
  if (established === model) return '<span class="badge good">equal: the model holds</span>';
  const d = established - model;
  return d > 0n
    ? `<span class="badge warn">${grouped(d)} more: the model undercounts</span>`
    : `<span class="badge bad">${grouped(-d)} fewer: the model overcounts</span>`;
}

export function proofSection(proofs: readonly ProofInput[]): Section {
  const blocks = proofs.map((p) => {
    const machines = toBig(p.machines) ?? 1n;
    const ports = toBig(p.ports) ?? 1n;
    const ips = toBig(p.ipsPerMachine) ?? 1n;
    const computed = countModels({ machines, ports, ipsPerMachine: ips });
    const models = Object.fromEntries(
      MODEL_ORDER.map((k) => [k, toBig(p.models?.[k]) ?? computed[k]]),
    ) as Record<ModelName, bigint>;
    const N = machines * ips * ports;
    const established = toBig(p.established) ?? 0n;
    const graph = proofGraph(p, N, models.exact);
    const title = `${grouped(machines)} machines x ${grouped(ports)} ports${p.hosts ? ` on ${esc(p.hosts)}` : ''}`;
    let graphHtml: string;
    if (graph && graph.endpoints.length <= GRAPH_MAX_ENDPOINTS) {
      const { svg, edges } = connectionGraphSvg(
        graph.endpoints,
        graph.edges,
        `Connection graph for ${title.replaceAll(/<[^>]+>/g, '')}: ${graph.edges.length} connections`,
      );
      const note = graph.derived
        ? 'The result lists no connections, but it established all N(N+1)/2, so the graph is every pair of endpoints and every self-connection.'
        : `${grouped(edges)} connections drawn from the result.`;
      graphHtml =
        `<figure>${svg}<div class="legend"><span><i style="background:var(--c1)"></i>between machines</span>` +
        `<span><i style="background:var(--c2)"></i>within a machine</span><span><i style="background:var(--c4)"></i>self-connection</span></div>` +
        `<figcaption>${esc(note)} Endpoints are grouped by machine; labels are ports.</figcaption></figure>`;
    } else {
      graphHtml = `<p class="muted">${
        N > BigInt(GRAPH_MAX_ENDPOINTS)
          ? `No graph: ${grouped(N)} endpoints (the graph is drawn up to ${GRAPH_MAX_ENDPOINTS}).`
          : 'No graph: the result lists no connections and did not establish every possible one.'
      }</p>`;
    }
    const counts = [
      ['established', p.established],
      ['self-connections', p.selfConnections],
      ['between machines', p.betweenMachines],
    ]
      .filter(([, v]) => v !== undefined)
      .map(
        ([k, v]) =>
          `<tr><th scope="row">${esc(k)}</th><td class="num">${grouped(v as Count)}</td></tr>`,
      )
      .join('');
    const vsRows = MODEL_ORDER.map((k) => {
      const cls =
        k === 'exact' ? ' class="hl-good"' : k === 'orderedTuples' ? ' class="hl-warn"' : '';
      return `<tr${cls}><th scope="row">${esc(MODEL_LABEL[k])}</th><td class="num">${grouped(models[k])}</td><td>${compare(established, models[k])}</td></tr>`;
    }).join('');
    const refused = Object.entries(p.attemptsRefused ?? {});
    const refusedHtml = refused.length
      ? `<h4>Attempts the kernel refused (reverse directions and duplicates)</h4><table><thead><tr><th>errno</th><th class="num">attempts</th><th>meaning</th></tr></thead><tbody>${refused
          .map(
            ([e, n]) =>
              `<tr><td>${errnoHtml(e)}</td><td class="num">${grouped(n)}</td><td class="muted">${esc(errnoMeaning(e))}</td></tr>`,
          )
          .join('')}</tbody></table>`
      : '';
    const verdict =
      p.verdict === 'exact' || established === models.exact
        ? `<span class="badge good">exact: N(N+1)/2 = ${grouped(models.exact)}</span>`
        : `<span class="badge warn">${esc(p.verdict ?? 'not the exact count')}</span>`;
    return (
      `<h3>${title}: ${grouped(established)} connections established ${verdict}</h3>` +
      `<div class="grid2"><div>${graphHtml}</div><div>` +
      `<table><tbody>${counts}</tbody></table>` +
      `<h4>Established against each model</h4><table><thead><tr><th>model</th><th class="num">its count</th><th>established</th></tr></thead><tbody>${vsRows}</tbody></table>` +
      `${refusedHtml}</div></div>`
    );
  });
  return {
    id: 'proof',
    title: 'Proof',
    html:
      '<p class="intro">Every endpoint listens and connects with SO_REUSEADDR and SO_REUSEPORT; every unordered pair is connected once and every endpoint to itself. Then one more is attempted, in every direction.</p>' +
      blocks.join(''),
    charts: [],
  };
}

// ---------------------------------------------------------------------------------------------
// practice (max)

/** src/scale's stop reasons in words. */
const STOP_WORDS: Readonly<Record<string, string>> = {
  target: 'reached the requested count',
  duration: 'ran out of time (--duration)',
  'memory-guard': 'the memory guard (MemAvailable reached the floor)',
  wall: 'a wall',
  interrupted: 'interrupted',
  'worker-crash': 'a worker process crashed',
  capacity: 'the planned capacity was full',
};

/** Why the ramp stopped, in a few words: "a wall: EMFILE at socket". */
export function stopWords(stop: NonNullable<MaxInput['stoppedBy']>): string {
  const what = [stop.errno, stop.syscall ? `at ${stop.syscall}` : undefined]
    .filter(Boolean)
    .join(' ');
  const words = STOP_WORDS[stop.reason] ?? stop.reason;
  return what ? `${words}: ${what}` : words;
}

function stopText(stop: MaxInput['stoppedBy']): { head: string; detail: string } | undefined {
  if (stop === undefined) return undefined;
  return {
    head: stopWords(stop),
    detail: [stop.detail, stop.errno ? wallMeaning(stop.errno) : undefined]
      .filter(Boolean)
      .join('. '),
  };
}

/** Seconds since the start (samples carry milliseconds). */
const secs = (s: MaxSample): number => s.t / 1000;

function rates(series: readonly MaxSample[]): { x: number; y: number }[] {
  return series.map((s, i) => {
    if (s.rate !== undefined) return { x: secs(s), y: s.rate };
    const prev = series[i - 1];
    if (!prev || s.t <= prev.t) return { x: secs(s), y: 0 };
    const y = ((s.established - prev.established) * 1000) / (s.t - prev.t);
    return { x: secs(s), y: Math.max(0, y) };
  });
}

/** Failures in each sample's interval, from the cumulative counts. */
function failuresPerInterval(series: readonly MaxSample[], errno: string): number[] {
  return series.map((s, i) => {
    const before = i > 0 ? (series[i - 1]!.failures?.[errno] ?? 0) : 0;
    return Math.max(0, (s.failures?.[errno] ?? 0) - before);
  });
}

const SERIES_COLORS = ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6'];

function practiceCards(max: MaxInput): string {
  const cards: [string, string, string][] = [
    [
      'peak established',
      grouped(max.established),
      max.requested !== undefined ? `asked for ${grouped(max.requested)}` : '',
    ],
  ];
  if (max.accepted !== undefined) {
    cards.push(['accepted', grouped(max.accepted), 'by fourtuple listeners']);
  }
  if (max.alive !== undefined) {
    const dead = max.dead !== undefined ? `${grouped(max.dead)} dead` : 'by an echo';
    cards.push(['verified alive', grouped(max.alive), dead]);
  }
  const timeToPeak = max.timing?.timeToPeakMs;
  if (timeToPeak !== undefined) cards.push(['time to peak', duration(timeToPeak), '']);
  const rate = max.rate;
  if (rate?.medianPerSec !== undefined || rate?.peakPerSec !== undefined) {
    cards.push([
      'connections per second',
      grouped(Math.round(rate.medianPerSec ?? rate.peakPerSec ?? 0)),
      `median${rate.peakPerSec !== undefined ? `; peak ${grouped(Math.round(rate.peakPerSec))}` : ''}`,
    ]);
  }
  const mem = max.memory;
  if (
    mem?.kernelBytesPerConnection !== undefined ||
    mem?.processRssBytesPerConnection !== undefined
  ) {
    const total =
      mem.totalBytesPerConnection ??
      (mem.kernelBytesPerConnection ?? 0) + (mem.processRssBytesPerConnection ?? 0);
    cards.push([
      'memory per connection',
      bytes(total),
      `kernel ${bytes(mem.kernelBytesPerConnection) || '?'} + processes ${bytes(mem.processRssBytesPerConnection) || '?'}`,
    ]);
  }
  if (max.workers !== undefined) cards.push(['worker processes', grouped(max.workers), '']);
  return `<div class="cards">${cards
    .map(
      ([k, v, s]) =>
        `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div>${s ? `<div class="s">${esc(s)}</div>` : ''}</div>`,
    )
    .join('')}</div>`;
}

/** Ceilings worth a line on the connections chart: the run's own, and system-wide limits. */
function ceilingCandidates(max: MaxInput, limits: LimitsInput | undefined) {
  const out: { name: string; value: number }[] = [];
  const add = (name: string, v: number | undefined): void => {
    if (v !== undefined && Number.isFinite(v) && !out.some((c) => c.name === name)) {
      out.push({ name, value: v });
    }
  };
  const requested = toNum(max.requested);
  add('requested', requested);
  const planned = toNum(max.planned);
  if (planned !== requested) add('planned', planned);
  for (const c of max.ceilings ?? []) add(c.name, toNum(c.value));
  add('fs.file-max', max.limits?.fileMax);
  // per-process and per-destination limits bound one process or one pair, not the whole run
  for (const l of limits?.limits ?? []) {
    if (l.applies === false) continue;
    if (l.scope !== undefined && !/system|machine/i.test(l.scope)) continue;
    add(l.name, toNum(l.ceiling ?? undefined));
  }
  return out;
}

export function practiceSection(max: MaxInput, limits: LimitsInput | undefined): Section {
  const charts: ChartSpec[] = [];
  const series = max.series ?? [];
  const peak = toNum(max.established) ?? 0;
  const stop = stopText(max.stoppedBy);
  const callout = stop
    ? `<div class="callout"><span class="icon" aria-hidden="true">!</span><div><strong>Stopped: ${esc(stop.head)}</strong>${stop.detail ? `<span>${esc(stop.detail)}</span>` : ''}</div></div>`
    : '';

  let chartsHtml = '';
  if (series.length) {
    const t0 = secs(series[0]!);
    const t1 = secs(series[series.length - 1]!);
    const candidates = ceilingCandidates(max, limits);
    const top = Math.max(peak, ...series.map((s) => s.established));
    const shown = candidates.filter((c) => c.value <= top * 4).slice(0, 4);
    const off = candidates.filter((c) => !shown.includes(c));
    const peakSample = series.reduce((a, s) => (s.established > a.established ? s : a), series[0]!);
    const connSeries: ChartSeries[] = [
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
    ];
    if (stop) {
      connSeries.push({
        label: `stopped: ${stop.head}`,
        data: [{ x: secs(peakSample), y: peakSample.established }],
        color: '--warn',
        style: 'marker',
      });
    }
    const conn: ChartSpec = {
      id: chartId('connections'),
      kind: 'line',
      title: 'Concurrent established connections over time, with limits as dashed lines',
      series: connSeries,
      x: { title: 'seconds since start', unit: 'seconds' },
      y: { title: 'connections', unit: 'count', min: 0 },
    };
    const rate: ChartSpec = {
      id: chartId('rate'),
      kind: 'line',
      title: 'New connections per second over time',
      series: [{ label: 'connections/s', data: rates(series), color: '--c3' }],
      x: { title: 'seconds since start', unit: 'seconds' },
      y: { title: 'connections per second', unit: 'rate', min: 0 },
    };
    charts.push(conn, rate);
    chartsHtml +=
      figure(
        conn,
        `Dashed lines are ceilings within reach of this run${off.length ? `; off the chart: ${off.map((c) => `${c.name} ${grouped(Math.round(c.value))}`).join(', ')}` : ''}.`,
        false,
        'Connections over time',
      ) +
      figure(
        rate,
        'New established connections per second, per sample interval.',
        false,
        'Connection rate',
      );

    const memSeries: ChartSeries[] = [];
    const withSlab = series.filter((s) => s.slabBytes !== undefined);
    const slab0 = max.memory?.slabBeforeBytes ?? withSlab[0]?.slabBytes ?? 0;
    const withRss = series.filter((s) => s.rssBytes !== undefined);
    if (withSlab.length) {
      memSeries.push({
        label: 'kernel (Slab growth)',
        data: withSlab.map((s) => ({ x: s.established, y: Math.max(0, s.slabBytes! - slab0) })),
        color: '--c5',
      });
    }
    if (withRss.length) {
      memSeries.push({
        label: 'fourtuple processes (RSS)',
        data: withRss.map((s) => ({ x: s.established, y: s.rssBytes! })),
        color: '--c2',
      });
    }
    if (memSeries.length) {
      const memChart: ChartSpec = {
        id: chartId('memory'),
        kind: 'line',
        title: 'Memory against connections: kernel and fourtuple processes',
        series: memSeries,
        x: { title: 'connections established', unit: 'count' },
        y: { title: 'memory', unit: 'bytes', min: 0 },
      };
      charts.push(memChart);
      chartsHtml += figure(
        memChart,
        'Kernel memory (growth of Slab since the start) and the resident memory of every fourtuple process.',
        false,
        'Memory against connections',
      );
    }
    const errnos = [...new Set(series.flatMap((s) => Object.keys(s.failures ?? {})))].sort();
    const perInterval = new Map(errnos.map((e) => [e, failuresPerInterval(series, e)] as const));
    if (errnos.length) {
      const failChart: ChartSpec = {
        id: chartId('failures'),
        kind: 'stacked',
        title: 'Failed connection attempts per interval, by errno',
        labels: series.map((s) => `${+secs(s).toFixed(1)}`),
        series: errnos.map((e, i) => ({
          label: e,
          data: perInterval.get(e)!,
          color: SERIES_COLORS[(i + 3) % SERIES_COLORS.length]!,
        })),
        x: { title: 'seconds since start' },
        y: { title: 'failures', unit: 'count', min: 0 },
      };
      charts.push(failChart);
      chartsHtml += figure(
        failChart,
        `Failed attempts per sample interval: ${errnos.map((e) => `${e} (${errnoMeaning(e)})`).join('; ')}.`,
        false,
        'Failures by errno',
      );
    } else {
      chartsHtml +=
        '<figure><h4>Failures by errno</h4><p class="muted">No connection attempt failed during the run.</p></figure>';
    }
    chartsHtml = `<div class="charts2">${chartsHtml}</div><p class="js-note">The charts need JavaScript; the table below has the same samples.</p>`;

    // a readable sample of the time series, without JS
    const stride = Math.max(1, Math.ceil(series.length / 24));
    const rateAt = rates(series);
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
          `<td class="num">${grouped(Math.round(rateAt[i]!.y))}</td>` +
          `<td class="num">${s.slabBytes !== undefined ? bytes(Math.max(0, s.slabBytes - slab0)) : ''}</td>` +
          `<td class="num">${bytes(s.rssBytes)}</td><td>${fails}</td></tr>`
        );
      });
    chartsHtml +=
      `<details><summary>The time series as a table (${rows.length} of ${series.length} samples)</summary><div class="table-wrap"><table>` +
      '<thead><tr><th class="num">t (s)</th><th class="num">established</th><th class="num">per second</th><th class="num">kernel memory</th><th class="num">process memory</th><th>failures in the interval</th></tr></thead>' +
      `<tbody>${rows.join('')}</tbody></table></div></details>`;
  }
  const totals = Object.entries(max.failures ?? {}).filter(([, n]) => n > 0);
  const failHtml = totals.length
    ? `<p>Failed attempts in the whole run: ${totals.map(([e, n]) => `${errnoHtml(e)} ${grouped(n)}`).join(', ')}.</p>`
    : '';
  return {
    id: 'practice',
    title: 'Practice',
    html:
      '<p class="intro">As many concurrent connections as this machine allows, held and verified alive by an echo, and what stopped the ramp.</p>' +
      callout +
      practiceCards(max) +
      failHtml +
      (chartsHtml ? `<div style="margin-top:20px">${chartsHtml}</div>` : ''),
    charts,
  };
}

// ---------------------------------------------------------------------------------------------
// machine

/** 2026-01-01T12:00:00.000Z -> 2026-01-01 12:00 UTC */
export function formatDate(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

export function machineSection(
  machine: MachineInfo | undefined,
  limits: LimitsInput | undefined,
): Section {
  let html = '';
  if (machine) {
    const rows: [string, string][] = [];
    if (machine.kernel)
      rows.push([
        'kernel',
        `${machine.platform ?? 'linux'} ${machine.kernel}${machine.arch ? ` (${machine.arch})` : ''}`,
      ]);
    if (machine.cores !== undefined) rows.push(['cores', String(machine.cores)]);
    if (machine.memoryBytes !== undefined) {
      rows.push([
        'memory',
        `${bytes(machine.memoryBytes)}${machine.memoryAvailableBytes !== undefined ? ` (${bytes(machine.memoryAvailableBytes)} available)` : ''}`,
      ]);
    }
    if (machine.node) rows.push(['Node.js', machine.node]);
    if (machine.fourtuple) rows.push(['fourtuple', machine.fourtuple]);
    if (machine.date) rows.push(['date', formatDate(machine.date)]);
    html +=
      (machine.renderedHere
        ? '<p class="intro">The results file does not describe its machine; this is the machine that rendered the page.</p>'
        : '') +
      `<div class="facts">${rows.map(([k, v]) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`).join('')}</div>`;
  }
  if (limits) {
    const rows = limits.limits
      .map((l) => {
        const binding = limits.binding !== undefined && l.name === limits.binding;
        const wall = limits.machine?.binding !== undefined && l.name === limits.machine.binding;
        const badges =
          (binding ? ' <span class="badge warn">first wall for one process</span>' : '') +
          (wall ? ' <span class="badge warn">wall for the machine</span>' : '') +
          (l.applies === false ? ' <span class="badge neutral">does not bind</span>' : '');
        const value =
          typeof l.value === 'object' && l.value !== null ? describe(l.value) : String(l.value);
        return (
          `<tr${binding || wall ? ' class="hl-warn"' : ''}><th scope="row"><code>${esc(l.name)}</code>${badges}${l.note ? `<span class="sub">${esc(l.note)}</span>` : ''}</th>` +
          `<td class="num">${/^\d+$/.test(value) ? groupedHtml(value) : esc(value)}</td>` +
          `<td class="num">${l.ceiling === undefined || l.ceiling === null ? '<span class="muted">-</span>' : groupedHtml(l.ceiling)}</td>` +
          `<td>${esc(l.scope ?? '')}</td><td>${l.raise ? `<code>${esc(l.raise)}</code>` : ''}</td></tr>`
        );
      })
      .join('');
    const m = limits.measured;
    const measured =
      m && (m.kernelBytesPerConnection !== undefined || m.userBytesPerConnection !== undefined)
        ? `<p>Measured cost of one established loopback connection (both ends${m.connections ? `, over ${grouped(m.connections)} connections` : ''}): kernel <strong>${bytes(m.kernelBytesPerConnection) || 'unknown'}</strong>, fourtuple's process <strong>${bytes(m.userBytesPerConnection) || 'unknown'}</strong>.</p>`
        : '';
    const answer = limits.answer
      ? `<p>${esc(limits.answer)}</p>`
      : limits.estimate !== undefined
        ? `<p>One process could hold about <strong>${grouped(limits.estimate)}</strong> connections${limits.binding ? `; the first wall is <code>${esc(limits.binding)}</code>` : ''}${limits.machine?.estimate !== undefined ? `. The machine could hold about <strong>${grouped(limits.machine.estimate)}</strong>${limits.machine.binding ? `, stopped by <code>${esc(limits.machine.binding)}</code>` : ''}` : ''}.</p>`
        : '';
    html +=
      `<h3>Limits</h3>${answer}${measured}` +
      `<div class="table-wrap"><table class="limits"><thead><tr><th>limit</th><th class="num">value</th><th class="num">connections it allows</th><th>scope</th><th>how to raise it (printed, never run)</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  }
  return { id: 'machine', title: 'Machine', html, charts: [] };
}

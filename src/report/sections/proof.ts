/** The proof section: what each construction established, its graph, and every model beside it. */
import { errnoMeaning } from '../../sockets/errno.js';
import { MODEL_LABEL, MODEL_ORDER, type ModelName } from '../../theory/index.js';
import {
  connectionGraphSvg,
  GRAPH_MAX_ENDPOINTS,
  type GraphEndpoint,
  splitEndpoint,
} from '../graph.js';
import { esc, grouped, toBig } from '../html.js';
import type { ProofInput } from '../types.js';
import { errnoHtml, type Section } from './common.js';
import { modelBigInts, modelRowClass } from './theory.js';

interface GraphData {
  endpoints: GraphEndpoint[];
  edges: { from: string; to: string }[];
  derived: boolean;
}

/** The graph from the connections the proof listed, endpoints grouped by machine. */
function listedGraph(p: ProofInput, connections: NonNullable<ProofInput['connections']>) {
  // machines named as the CLI and the result name them (m0, m1, ...), with their address
  const byIp = new Map(p.machineList.map((m) => [m.address, `${m.name} ${m.address}`] as const));
  const edges = connections.map((c) => ({ from: c.a, to: c.b }));
  const ids = [...new Set(edges.flatMap((c) => [c.from, c.to]))];
  const endpoints = ids
    .map((id) => {
      const { ip, port } = splitEndpoint(id);
      return { id, machine: byIp.get(ip) ?? ip, label: port, port: Number(port) };
    })
    .sort((a, b) => a.machine.localeCompare(b.machine, 'en', { numeric: true }) || a.port - b.port);
  return { endpoints, edges, derived: false };
}

/** Without the list, a complete construction is still fully known: every pair, every self. */
function completeGraph(machines: number, perMachine: number): GraphData {
  const endpoints: GraphEndpoint[] = [];
  for (let m = 0; m < machines; m++) {
    for (let e = 0; e < perMachine; e++) {
      endpoints.push({
        id: `m${m}:p${e + 1}`,
        machine: `m${m}`,
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

function proofGraph(p: ProofInput, N: bigint, exact: bigint): GraphData | undefined {
  if (p.connections?.length) return listedGraph(p, p.connections);
  if (toBig(p.established) !== exact || N > BigInt(GRAPH_MAX_ENDPOINTS)) return undefined;
  const machines = Number(toBig(p.machines) ?? 1n);
  return completeGraph(machines, Number(N) / Math.max(machines, 1));
}

function graphHtml(p: ProofInput, N: bigint, exact: bigint, title: string): string {
  const graph = proofGraph(p, N, exact);
  if (!graph || graph.endpoints.length > GRAPH_MAX_ENDPOINTS) {
    return `<p class="muted">${
      N > BigInt(GRAPH_MAX_ENDPOINTS)
        ? `No graph: ${grouped(N)} endpoints (the graph is drawn up to ${GRAPH_MAX_ENDPOINTS}).`
        : 'No graph: the result lists no connections and did not establish every possible one.'
    }</p>`;
  }
  const { svg, edges } = connectionGraphSvg(
    graph.endpoints,
    graph.edges,
    `Connection graph for ${title}: ${graph.edges.length} connections`,
  );
  const note = graph.derived
    ? 'The result lists no connections, but it established all N(N+1)/2, so the graph is every pair of endpoints and every self-connection.'
    : `${grouped(edges)} connections drawn from the result.`;
  return (
    `<figure>${svg}<div class="legend"><span><i style="background:var(--c1)"></i>between machines</span>` +
    `<span><i style="background:var(--c2)"></i>within a machine</span><span><i style="background:var(--c4)"></i>self-connection</span></div>` +
    `<figcaption>${esc(note)} Endpoints are grouped by machine; labels are ports.</figcaption></figure>`
  );
}

function compare(established: bigint, model: bigint): string {
  if (established === model) return '<span class="badge good">equal: the model holds</span>';
  const d = established - model;
  return d > 0n
    ? `<span class="badge warn">${grouped(d)} more: the model undercounts</span>`
    : `<span class="badge bad">${grouped(-d)} fewer: the model overcounts</span>`;
}

function countsHtml(p: ProofInput, models: Record<ModelName, bigint>): string {
  const established = toBig(p.established) ?? 0n;
  const counts = (
    [
      ['established', p.established],
      ['self-connections', p.selfConnections],
      ['between machines', p.betweenMachines],
    ] as const
  )
    .map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td class="num">${grouped(v)}</td></tr>`)
    .join('');
  const vsRows = MODEL_ORDER.map(
    (k) =>
      `<tr${modelRowClass(k)}><th scope="row">${esc(MODEL_LABEL[k])}</th><td class="num">${grouped(models[k])}</td><td>${compare(established, models[k])}</td></tr>`,
  ).join('');
  const refused = Object.entries(p.attemptsRefused);
  const refusedHtml = refused.length
    ? `<h4>Attempts the kernel refused (reverse directions and duplicates)</h4><table><thead><tr><th>errno</th><th class="num">attempts</th><th>meaning</th></tr></thead><tbody>${refused
        .map(
          ([e, n]) =>
            `<tr><td>${errnoHtml(e)}</td><td class="num">${grouped(n)}</td><td class="muted">${esc(errnoMeaning(e))}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  return (
    `<table><tbody>${counts}</tbody></table>` +
    `<h4>Established against each model</h4><table><thead><tr><th>model</th><th class="num">its count</th><th>established</th></tr></thead><tbody>${vsRows}</tbody></table>` +
    refusedHtml
  );
}

function proofBlock(p: ProofInput): string {
  const models = modelBigInts(p.models);
  const established = toBig(p.established) ?? 0n;
  const title = `${grouped(p.machines)} machines x ${grouped(p.ports)} ports on ${p.hosts}`;
  const verdict =
    p.verdict === 'exact'
      ? `<span class="badge good">exact: N(N+1)/2 = ${grouped(models.exact)}</span>`
      : `<span class="badge warn">${esc(p.verdict)}: ${esc(p.differences.join('; '))}</span>`;
  return (
    `<h3>${esc(title)}: ${grouped(established)} connections established ${verdict}</h3>` +
    `<div class="grid2"><div>${graphHtml(p, toBig(p.endpoints) ?? 0n, models.exact, title)}</div>` +
    `<div>${countsHtml(p, models)}</div></div>`
  );
}

export function proofSection(proofs: readonly ProofInput[]): Section {
  return {
    id: 'proof',
    title: 'Proof',
    html:
      '<p class="intro">Every endpoint listens and connects with SO_REUSEADDR and SO_REUSEPORT; every unordered pair is connected once and every endpoint to itself. Then one more is attempted, in every direction.</p>' +
      proofs.map(proofBlock).join(''),
    charts: [],
  };
}

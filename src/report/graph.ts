/**
 * The proof's connection graph as inline SVG: endpoints on a circle, grouped by machine in arcs,
 * one curve per connection (through the middle for connections between machines), a loop outside
 * the node for a self-connection. Pure: returns markup, styled by the page's CSS classes.
 */
import { esc } from './html.js';

export interface GraphEndpoint {
  /** ip:port, unique */
  id: string;
  /** the machine's label, e.g. 127.0.0.1 or machine 1 */
  machine: string;
  /** the short label drawn by the node (the port) */
  label: string;
}

export interface GraphEdge {
  from: string;
  to: string;
}

/** Readable up to this many endpoints (2,080 connections); beyond it the graph is omitted. */
export const GRAPH_MAX_ENDPOINTS = 64;

const SIZE = 560;
const C = SIZE / 2;

function polar(r: number, a: number): [number, number] {
  return [C + r * Math.cos(a), C + r * Math.sin(a)];
}

const f = (v: number): string => v.toFixed(1);

/** Splits "ip:port" or "[v6]:port" into its parts. */
export function splitEndpoint(id: string): { ip: string; port: string } {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(id);
  if (v6) return { ip: v6[1]!, port: v6[2]! };
  const i = id.lastIndexOf(':');
  return i < 0 ? { ip: id, port: '' } : { ip: id.slice(0, i), port: id.slice(i + 1) };
}

/**
 * Draws the graph. Edges whose endpoints are unknown are skipped; the returned `edges` counts
 * what was drawn (the page states it next to the established count).
 */
export function connectionGraphSvg(
  endpoints: readonly GraphEndpoint[],
  edges: readonly GraphEdge[],
  title: string,
): { svg: string; edges: number } {
  const machines: string[] = [];
  for (const e of endpoints) if (!machines.includes(e.machine)) machines.push(e.machine);
  const ordered = machines.flatMap((m) => endpoints.filter((e) => e.machine === m));
  const n = ordered.length;
  const gap = machines.length > 1 ? 0.35 : 0; // radians between machine groups
  const step = (2 * Math.PI - gap * machines.length) / Math.max(n, 1);
  const R = 200;
  const angle = new Map<string, number>();
  const machineOf = new Map<string, string>();
  let a = -Math.PI / 2 + gap / 2 + step / 2;
  let prev: string | undefined;
  for (const e of ordered) {
    if (prev !== undefined && e.machine !== prev) a += gap;
    angle.set(e.id, a);
    machineOf.set(e.id, e.machine);
    prev = e.machine;
    a += step;
  }

  const parts: string[] = [];
  // machine groups: a band behind their nodes and a label outside
  machines.forEach((m, i) => {
    const ids = ordered.filter((e) => e.machine === m).map((e) => angle.get(e.id)!);
    const a0 = Math.min(...ids) - step / 2 + 0.02;
    const a1 = Math.max(...ids) + step / 2 - 0.02;
    const [x0, y0] = polar(R, a0);
    const [x1, y1] = polar(R, a1);
    const large = a1 - a0 > Math.PI ? 1 : 0;
    parts.push(
      `<path class="g-machine g-m${i % 6}" d="M${f(x0)} ${f(y0)}A${R} ${R} 0 ${large} 1 ${f(x1)} ${f(y1)}"/>`,
    );
    const mid = (a0 + a1) / 2;
    const [lx, ly] = polar(R + 58, mid);
    const anchor = Math.abs(Math.cos(mid)) < 0.3 ? 'middle' : Math.cos(mid) > 0 ? 'start' : 'end';
    parts.push(
      `<text class="g-mlabel" x="${f(lx)}" y="${f(ly)}" text-anchor="${anchor}" dominant-baseline="middle">${esc(m)}</text>`,
    );
  });

  let drawn = 0;
  const edgeParts: string[] = [];
  for (const e of edges) {
    const a1 = angle.get(e.from);
    const a2 = angle.get(e.to);
    if (a1 === undefined || a2 === undefined) continue;
    drawn++;
    const [x1, y1] = polar(R - 6, a1);
    if (e.from === e.to) {
      const [cx1, cy1] = polar(R + 44, a1 - 0.2);
      const [cx2, cy2] = polar(R + 44, a1 + 0.2);
      const [sx, sy] = polar(R + 6, a1);
      edgeParts.push(
        `<path class="edge e-self" d="M${f(sx)} ${f(sy)}C${f(cx1)} ${f(cy1)} ${f(cx2)} ${f(cy2)} ${f(sx)} ${f(sy)}"><title>${esc(e.from)} connected to itself</title></path>`,
      );
      continue;
    }
    const [x2, y2] = polar(R - 6, a2);
    const same = machineOf.get(e.from) === machineOf.get(e.to);
    // control point pulled toward the centre: opposite nodes run straight through it
    const k = same ? 0.55 : 0.15;
    const cx = C + ((x1 + x2) / 2 - C) * k;
    const cy = C + ((y1 + y2) / 2 - C) * k;
    edgeParts.push(
      `<path class="edge ${same ? 'e-same' : 'e-between'}" d="M${f(x1)} ${f(y1)}Q${f(cx)} ${f(cy)} ${f(x2)} ${f(y2)}"><title>${esc(e.from)} - ${esc(e.to)}</title></path>`,
    );
  }

  const nodeParts: string[] = [];
  const showLabels = n <= 32;
  for (const e of ordered) {
    const a0 = angle.get(e.id)!;
    const [x, y] = polar(R, a0);
    nodeParts.push(
      `<circle class="g-node g-m${machines.indexOf(e.machine) % 6}" cx="${f(x)}" cy="${f(y)}" r="${n > 32 ? 3.5 : 6}"><title>${esc(e.id)}</title></circle>`,
    );
    if (showLabels) {
      const [lx, ly] = polar(R - 24, a0);
      nodeParts.push(
        `<text class="g-plabel" x="${f(lx)}" y="${f(ly)}" text-anchor="middle" dominant-baseline="middle">${esc(e.label)}</text>`,
      );
    }
  }

  const svg =
    `<svg class="graph" viewBox="-110 -20 ${SIZE + 220} ${SIZE + 40}" role="img" ` +
    `aria-label="${esc(title)}" data-edges="${drawn}" data-nodes="${n}">` +
    `<title>${esc(title)}</title>${parts.join('')}<g class="edges">${edgeParts.join('')}</g>` +
    `<g class="nodes">${nodeParts.join('')}</g></svg>`;
  return { svg, edges: drawn };
}

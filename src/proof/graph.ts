/**
 * The proof's connections as an SVG picture (pure: data in, markup out). Endpoints sit on a
 * circle, grouped by machine (each machine an arc of its own colour, labelled with its name and
 * address, with a gap between machines); every connection is one curve bent towards the
 * centre; a self-connection is a small loop just outside its endpoint. Readable up to N = 64.
 */

export interface GraphInput {
  machineList: readonly { name: string; address: string }[];
  ports: bigint | number;
  basePort: number;
  /** a: connecting side ip:port, b: accepting side ip:port (equal for a self-connection) */
  connections: readonly { a: string; b: string }[];
  /** heading; default "n machines x m ports: C connections" */
  title?: string;
}

/**
 * Layout, from the circle outwards: endpoints on radius R, self-loops just outside them, the port
 * labels outside the loops (never under an edge), the machine's arc, then its name; the canvas is
 * wide enough that a label at 3 or 9 o'clock never reaches its edge.
 */
const R = 300;
const LABEL_ROOM = 230;
const WIDTH = 2 * (R + LABEL_ROOM);
const HEIGHT = 2 * (R + 110) + 60;
const CX = WIDTH / 2;
const CY = HEIGHT / 2 + 10;
const PORT_R = R + 30;
const ARC_R = R + 48;
const NAME_R = R + 66;
const COLOURS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#17becf',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
];

function esc(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

const f = (v: number): string => (Math.round(v * 10) / 10).toString();

interface Node {
  label: string;
  machine: number;
  x: number;
  y: number;
  angle: number;
}

interface Layout {
  n: number;
  m: number;
  gap: number;
  slots: number;
  nodes: Node[];
  byLabel: Map<string, Node>;
  nodeR: number;
}

const colour = (k: number): string => COLOURS[k % COLOURS.length]!;
const at = (a: number, r: number): [number, number] => [CX + r * Math.cos(a), CY + r * Math.sin(a)];

function layout(input: GraphInput): Layout {
  const n = input.machineList.length;
  const m = Number(input.ports);
  const gap = n > 1 ? Math.max(1, Math.round(m / 4)) : 0;
  const slots = n * (m + gap);
  const nodes: Node[] = [];
  const byLabel = new Map<string, Node>();
  input.machineList.forEach((mach, k) => {
    for (let j = 0; j < m; j++) {
      const angle = (2 * Math.PI * (k * (m + gap) + j + 0.5)) / slots - Math.PI / 2;
      const [x, y] = at(angle, R);
      const node: Node = {
        label: `${mach.address}:${input.basePort + j}`,
        machine: k,
        x,
        y,
        angle,
      };
      nodes.push(node);
      byLabel.set(node.label, node);
    }
  });
  const N = n * m;
  return { n, m, gap, slots, nodes, byLabel, nodeR: N <= 16 ? 7 : N <= 40 ? 5 : 4 };
}

/** An arc behind each machine's endpoints, and its name and address beyond it. */
function machinesSvg(input: GraphInput, l: Layout): string[] {
  const out = ['<g class="machines">'];
  for (let k = 0; k < l.n; k++) {
    const mach = input.machineList[k]!;
    const a0 = (2 * Math.PI * (k * (l.m + l.gap))) / l.slots - Math.PI / 2;
    const a1 = (2 * Math.PI * (k * (l.m + l.gap) + l.m)) / l.slots - Math.PI / 2;
    const p = (a: number): string => at(a, ARC_R).map(f).join(' ');
    const arc =
      l.n === 1
        ? `<circle cx="${CX}" cy="${CY}" r="${ARC_R}" fill="none" stroke="${colour(k)}" stroke-width="6" stroke-opacity="0.35"/>`
        : `<path d="M ${p(a0)} A ${ARC_R} ${ARC_R} 0 ${a1 - a0 > Math.PI ? 1 : 0} 1 ${p(a1)}" fill="none" stroke="${colour(k)}" stroke-width="6" stroke-opacity="0.35" stroke-linecap="round"/>`;
    const mid = (a0 + a1) / 2;
    const [lx, ly] = at(mid, NAME_R);
    const anchor = Math.abs(Math.cos(mid)) < 0.3 ? 'middle' : Math.cos(mid) > 0 ? 'start' : 'end';
    // below the circle the text hangs under its point, above it sits on it
    const dy = Math.sin(mid) > 0.3 ? 14 : Math.sin(mid) < -0.3 ? -4 : 5;
    out.push(
      `<g class="machine" data-name="${esc(mach.name)}">${arc}<text x="${f(lx)}" y="${f(ly + dy)}" text-anchor="${anchor}" font-size="15" fill="${colour(k)}"><tspan font-weight="bold">${esc(mach.name)}</tspan> ${esc(mach.address)}</text></g>`,
    );
  }
  out.push('</g>');
  return out;
}

/** Connections between distinct endpoints: curves bent towards the centre. */
function edgesSvg(pairs: GraphInput['connections'], l: Layout): string[] {
  const opacity = Math.min(0.7, Math.max(0.12, 60 / Math.max(1, pairs.length)));
  const out = [
    `<g class="edges" fill="none" stroke-opacity="${opacity.toFixed(2)}" stroke-width="1.2">`,
  ];
  for (const c of pairs) {
    const a = l.byLabel.get(c.a);
    const b = l.byLabel.get(c.b);
    if (!a || !b) continue;
    const qx = CX + ((a.x + b.x) / 2 - CX) * 0.35;
    const qy = CY + ((a.y + b.y) / 2 - CY) * 0.35;
    const stroke = a.machine === b.machine ? colour(a.machine) : '#444';
    out.push(
      `<path class="edge" d="M ${f(a.x)} ${f(a.y)} Q ${f(qx)} ${f(qy)} ${f(b.x)} ${f(b.y)}" stroke="${stroke}"><title>${esc(c.a)} - ${esc(c.b)}</title></path>`,
    );
  }
  out.push('</g>');
  return out;
}

/** Self-connections (a small loop just outside the endpoint), the endpoints, their ports. */
function endpointsSvg(selfs: GraphInput['connections'], l: Layout): string[] {
  const out = ['<g class="loops" fill="none" stroke-width="1.5">'];
  const lr = l.nodeR + 3;
  for (const c of selfs) {
    const a = l.byLabel.get(c.a);
    if (!a) continue;
    const [x, y] = at(a.angle, R + l.nodeR + lr - 2);
    out.push(
      `<circle class="loop" cx="${f(x)}" cy="${f(y)}" r="${lr}" stroke="${colour(a.machine)}"><title>${esc(c.a)} connected to itself</title></circle>`,
    );
  }
  out.push('</g>', '<g class="endpoints" stroke="#fff" stroke-width="1.5">');
  for (const node of l.nodes) {
    out.push(
      `<circle class="endpoint" cx="${f(node.x)}" cy="${f(node.y)}" r="${l.nodeR}" fill="${colour(node.machine)}"><title>${esc(node.label)}</title></circle>`,
    );
  }
  out.push('</g>');
  if (l.nodes.length <= 32) {
    out.push('<g class="ports" font-size="12" fill="#333" text-anchor="middle">');
    for (const node of l.nodes) {
      const [x, y] = at(node.angle, PORT_R);
      out.push(`<text x="${f(x)}" y="${f(y + 4)}">${esc(node.label.split(':').pop()!)}</text>`);
    }
    out.push('</g>');
  }
  return out;
}

/** The SVG document for a proof's connections. */
export function proofGraph(input: GraphInput): string {
  const l = layout(input);
  const pairs = input.connections.filter((c) => c.a !== c.b);
  const selfs = input.connections.filter((c) => c.a === c.b);
  const title =
    input.title ??
    `${l.n} machine${l.n === 1 ? '' : 's'} x ${l.m} port${l.m === 1 ? '' : 's'}: ${input.connections.length} connections (${pairs.length} between endpoints, ${selfs.length} self)`;
  return `${[
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="system-ui, sans-serif">`,
    '<rect width="100%" height="100%" fill="#ffffff"/>',
    `<text x="${CX}" y="28" text-anchor="middle" font-size="18" fill="#222">${esc(title)}</text>`,
    ...machinesSvg(input, l),
    ...edgesSvg(pairs, l),
    ...endpointsSvg(selfs, l),
    `<text x="${CX}" y="${HEIGHT - 12}" text-anchor="middle" font-size="12" fill="#555">each curve is one TCP connection (an unordered pair of endpoints); each small loop is an endpoint connected to itself</text>`,
    '</svg>',
  ].join('\n')}\n`;
}

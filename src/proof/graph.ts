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

const SIZE = 840;
const CX = SIZE / 2;
const CY = SIZE / 2 + 20;
const R = 300;
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

/** The SVG document for a proof's connections. */
export function proofGraph(input: GraphInput): string {
  const n = input.machineList.length;
  const m = Number(input.ports);
  const N = n * m;
  const gap = n > 1 ? Math.max(1, Math.round(m / 4)) : 0;
  const slots = n * (m + gap);
  const nodes: Node[] = [];
  const byLabel = new Map<string, Node>();
  input.machineList.forEach((mach, k) => {
    for (let j = 0; j < m; j++) {
      const angle = (2 * Math.PI * (k * (m + gap) + j + 0.5)) / slots - Math.PI / 2;
      const node: Node = {
        label: `${mach.address}:${input.basePort + j}`,
        machine: k,
        x: CX + R * Math.cos(angle),
        y: CY + R * Math.sin(angle),
        angle,
      };
      nodes.push(node);
      byLabel.set(node.label, node);
    }
  });

  const colour = (k: number): string => COLOURS[k % COLOURS.length]!;
  const pairs = input.connections.filter((c) => c.a !== c.b);
  const selfs = input.connections.filter((c) => c.a === c.b);
  const opacity = Math.min(0.7, Math.max(0.12, 60 / Math.max(1, pairs.length)));
  const nodeR = N <= 16 ? 7 : N <= 40 ? 5 : 4;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${SIZE} ${SIZE + 40}" width="${SIZE}" height="${SIZE + 40}" font-family="system-ui, sans-serif">`,
  );
  out.push('<rect width="100%" height="100%" fill="#ffffff"/>');
  const title =
    input.title ??
    `${n} machine${n === 1 ? '' : 's'} x ${m} port${m === 1 ? '' : 's'}: ${input.connections.length} connections (${pairs.length} between endpoints, ${selfs.length} self)`;
  out.push(
    `<text x="${CX}" y="28" text-anchor="middle" font-size="18" fill="#222">${esc(title)}</text>`,
  );

  // machines: an arc behind each group, and its label
  out.push('<g class="machines">');
  for (let k = 0; k < n; k++) {
    const mach = input.machineList[k]!;
    const a0 = (2 * Math.PI * (k * (m + gap))) / slots - Math.PI / 2;
    const a1 = (2 * Math.PI * (k * (m + gap) + m)) / slots - Math.PI / 2;
    const ra = R + 18;
    const large = a1 - a0 > Math.PI ? 1 : 0;
    const p = (a: number, r: number): string =>
      `${f(CX + r * Math.cos(a))} ${f(CY + r * Math.sin(a))}`;
    const arc =
      n === 1
        ? `<circle cx="${CX}" cy="${CY}" r="${ra}" fill="none" stroke="${colour(k)}" stroke-width="6" stroke-opacity="0.35"/>`
        : `<path d="M ${p(a0, ra)} A ${ra} ${ra} 0 ${large} 1 ${p(a1, ra)}" fill="none" stroke="${colour(k)}" stroke-width="6" stroke-opacity="0.35" stroke-linecap="round"/>`;
    const mid = (a0 + a1) / 2;
    const lx = CX + (R + 52) * Math.cos(mid);
    const ly = CY + (R + 52) * Math.sin(mid);
    const anchor = Math.abs(Math.cos(mid)) < 0.3 ? 'middle' : Math.cos(mid) > 0 ? 'start' : 'end';
    out.push(
      `<g class="machine" data-name="${esc(mach.name)}">${arc}<text x="${f(lx)}" y="${f(ly)}" text-anchor="${anchor}" font-size="14" fill="${colour(k)}"><tspan font-weight="bold">${esc(mach.name)}</tspan> ${esc(mach.address)}</text></g>`,
    );
  }
  out.push('</g>');

  // connections between distinct endpoints: curves bent towards the centre
  out.push(
    `<g class="edges" fill="none" stroke-opacity="${opacity.toFixed(2)}" stroke-width="1.2">`,
  );
  for (const c of pairs) {
    const a = byLabel.get(c.a);
    const b = byLabel.get(c.b);
    if (!a || !b) continue;
    const qx = CX + ((a.x + b.x) / 2 - CX) * 0.35;
    const qy = CY + ((a.y + b.y) / 2 - CY) * 0.35;
    const stroke = a.machine === b.machine ? colour(a.machine) : '#444';
    out.push(
      `<path class="edge" d="M ${f(a.x)} ${f(a.y)} Q ${f(qx)} ${f(qy)} ${f(b.x)} ${f(b.y)}" stroke="${stroke}"><title>${esc(c.a)} - ${esc(c.b)}</title></path>`,
    );
  }
  out.push('</g>');

  // self-connections: a small loop just outside the endpoint
  out.push('<g class="loops" fill="none" stroke-width="1.5">');
  for (const c of selfs) {
    const a = byLabel.get(c.a);
    if (!a) continue;
    const lr = nodeR + 3;
    const x = CX + (R + nodeR + lr - 2) * Math.cos(a.angle);
    const y = CY + (R + nodeR + lr - 2) * Math.sin(a.angle);
    out.push(
      `<circle class="loop" cx="${f(x)}" cy="${f(y)}" r="${lr}" stroke="${colour(a.machine)}"><title>${esc(c.a)} connected to itself</title></circle>`,
    );
  }
  out.push('</g>');

  // endpoints, on top
  out.push('<g class="endpoints" stroke="#fff" stroke-width="1.5">');
  for (const node of nodes) {
    out.push(
      `<circle class="endpoint" cx="${f(node.x)}" cy="${f(node.y)}" r="${nodeR}" fill="${colour(node.machine)}"><title>${esc(node.label)}</title></circle>`,
    );
  }
  out.push('</g>');
  if (N <= 32) {
    out.push('<g class="ports" font-size="10" fill="#333" text-anchor="middle">');
    for (const node of nodes) {
      const x = CX + (R - 18) * Math.cos(node.angle);
      const y = CY + (R - 18) * Math.sin(node.angle) + 3;
      out.push(`<text x="${f(x)}" y="${f(y)}">${esc(node.label.split(':').pop()!)}</text>`);
    }
    out.push('</g>');
  }
  out.push(
    `<text x="${CX}" y="${SIZE + 28}" text-anchor="middle" font-size="12" fill="#555">each curve is one TCP connection (an unordered pair of endpoints); each small loop is an endpoint connected to itself</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * The "with TLS" section: plain TCP against TLS, from every result that measured both (a
 * `max --tls` run with its baseline, `limits --tls`, the tour's TLS runs): CPU per handshake and
 * memory per connection on each side, drawn, and the CPU and memory walls they imply, in a table.
 */
import { formatBytes } from '../../units.js';
import type { ChartSpec } from '../charts.js';
import { esc, grouped } from '../html.js';
import type { LimitsInput, MaxInput } from '../types.js';
import { chartId, figure, type Section } from './common.js';

/** One protocol's costs and walls, as every source gives them. */
interface Costs {
  serverUs: number;
  clientUs: number;
  serverBytes: number;
  clientBytes: number;
  kernelBytes: number;
  /** cores x 1e6 / server us */
  cpuWall: number;
  memoryWall: number | undefined;
}

/** Plain TCP and TLS measured in one run. */
export interface TlsComparison {
  /** where it came from: "max --tls", "limits --tls", "tour" */
  source: string;
  cert: string;
  key: string;
  connections: number;
  cores: number;
  tls: Costs;
  tcp: Costs | undefined;
}

/** A `max --tls` result (the tour's too) as a comparison; undefined without TLS figures. */
export function fromMax(max: MaxInput, source: string): TlsComparison | undefined {
  const t = max.tls;
  if (!t) return undefined;
  const kernelBytes = max.memory.kernelBytesPerConnection;
  const costs = (
    f: NonNullable<typeof t.baseline>,
    cpuWall: number,
    memoryWall: number | undefined,
  ): Costs => ({
    serverUs: f.server.cpuUsPerHandshake,
    clientUs: f.client.cpuUsPerHandshake,
    serverBytes: f.server.pssBytesPerConnection,
    clientBytes: f.client.pssBytesPerConnection,
    kernelBytes,
    cpuWall,
    memoryWall,
  });
  return {
    source,
    cert: t.cert,
    key: t.key,
    connections: t.run.established,
    cores: t.walls.cores,
    tls: costs(t.run, t.walls.cpu.server.handshakesPerSec, t.walls.memory.tls),
    tcp: t.baseline
      ? costs(t.baseline, t.walls.cpu.baselineServer?.handshakesPerSec ?? 0, t.walls.memory.tcp)
      : undefined,
  };
}

/** A `limits --tls` result as a comparison; undefined without TLS figures. */
export function fromLimits(limits: LimitsInput): TlsComparison | undefined {
  const t = limits.tls;
  if (!t) return undefined;
  const costs = (f: typeof t.tls): Costs => ({
    serverUs: f.serverUsPerHandshake,
    clientUs: f.clientUsPerHandshake,
    serverBytes: f.serverBytesPerConnection,
    clientBytes: f.clientBytesPerConnection,
    kernelBytes: f.kernelBytesPerConnection,
    cpuWall: f.cpuWall.handshakesPerSec,
    memoryWall: f.memoryWall,
  });
  return {
    source: 'limits --tls',
    cert: t.measured.cert,
    key: t.measured.key,
    connections: t.measured.established,
    cores: t.cores,
    tls: costs(t.tls),
    tcp: costs(t.tcp),
  };
}

/** CPU per handshake at the server, TLS over plain TCP (0 without a baseline). */
export function serverTimes(c: TlsComparison): number {
  return c.tcp && c.tcp.serverUs > 0 ? c.tls.serverUs / c.tcp.serverUs : 0;
}

export const us = (n: number): string => `${grouped(n)} us`;

/** One bar per side and protocol: plain TCP once per run that has it, then each TLS run. */
function bars(
  list: readonly TlsComparison[],
  value: (c: Costs, side: 'server' | 'client') => number,
  show: (n: number) => string,
): { labels: string[]; data: number[]; colors: string[]; shown: string[] } {
  const out = {
    labels: [] as string[],
    data: [] as number[],
    colors: [] as string[],
    shown: [] as string[],
  };
  // names only as long as they must be: the source when results of several are drawn, the
  // certificate of the run a plain-TCP baseline was measured beside when there are several
  const sources = new Set(list.map((c) => c.source)).size > 1;
  const baselines = list.filter((c) => c.tcp).length > 1;
  for (const side of ['server', 'client'] as const) {
    list.forEach((c, i) => {
      const from = sources ? ` (${c.source})` : '';
      const add = (label: string, v: number, color: string): void => {
        out.labels.push(`${side}, ${label}${from}`);
        out.data.push(v);
        out.colors.push(color);
        out.shown.push(show(v));
      };
      if (c.tcp)
        add(baselines ? `plain TCP beside ${c.cert}` : 'plain TCP', value(c.tcp, side), '--c1');
      add(`TLS ${c.cert}`, value(c.tls, side), i % 2 ? '--c3' : '--c2');
    });
  }
  return out;
}

function chart(
  prefix: string,
  title: string,
  b: ReturnType<typeof bars>,
  y: ChartSpec['y'],
): ChartSpec {
  return {
    id: chartId(prefix),
    kind: 'bars',
    title,
    labels: b.labels,
    series: [{ label: title, data: b.data, color: '--c2', colors: b.colors }],
    barLabels: b.shown,
    y,
  };
}

function costRow(c: TlsComparison, label: string, x: Costs | undefined): string {
  if (!x) return '';
  const cell = (v: string, name: string): string =>
    `<td class="num" data-label="${name}">${v}</td>`;
  return (
    `<tr><th scope="row">${esc(label)}<span class="sub">${esc(c.source)}, ${grouped(c.connections)} connections</span></th>` +
    cell(us(x.serverUs), 'CPU per handshake, server') +
    cell(us(x.clientUs), 'CPU per handshake, client') +
    cell(formatBytes(x.serverBytes), 'memory per connection, server') +
    cell(formatBytes(x.clientBytes), 'memory per connection, client') +
    // 0: the run's Slab delta was another program's too, and there was no baseline's to use
    cell(x.kernelBytes > 0 ? formatBytes(x.kernelBytes) : 'n/a', 'kernel per connection') +
    cell(`${grouped(x.cpuWall)}/s`, `CPU wall (${c.cores} cores)`) +
    cell(x.memoryWall === undefined ? '-' : grouped(x.memoryWall), 'memory wall') +
    '</tr>'
  );
}

/** The section, or undefined when no result has TLS figures and the tour skipped none. */
export function tlsSection(
  list: readonly TlsComparison[],
  skipped: string | undefined,
): Section | undefined {
  if (list.length === 0 && !skipped) return undefined;
  const note = skipped
    ? `<p class="muted">The tour's TLS part was skipped: ${esc(skipped)}.</p>`
    : '';
  if (list.length === 0) return { id: 'tls', title: 'With TLS', html: note, charts: [] };
  const cpu = chart(
    'tls-cpu',
    'CPU per handshake, microseconds, plain TCP and TLS, per side',
    bars(list, (c, s) => (s === 'server' ? c.serverUs : c.clientUs), us),
    { title: 'CPU us per handshake' },
  );
  const mem = chart(
    'tls-mem',
    'Process memory (PSS) per held connection, plain TCP and TLS, per side',
    bars(list, (c, s) => (s === 'server' ? c.serverBytes : c.clientBytes), formatBytes),
    { title: 'PSS per connection', unit: 'bytes' },
  );
  const rows = list
    .map((c) => costRow(c, 'plain TCP', c.tcp) + costRow(c, `TLS, ${c.cert} (${c.key})`, c.tls))
    .join('');
  const head = [
    'CPU server',
    'CPU client',
    'PSS server',
    'PSS client',
    'kernel',
    'CPU wall',
    'memory wall',
  ]
    .map((h) => `<th class="num">${esc(h)}</th>`)
    .join('');
  const first = list[0]!;
  const times = serverTimes(first);
  return {
    id: 'tls',
    title: 'With TLS',
    html:
      `<p>Every connection speaking TLS, its servers and clients in separate processes, against plain TCP measured in the same run.${times ? ` A TLS handshake cost the server <strong>${times.toFixed(1)}x</strong> the CPU of a plain accept (${esc(first.cert)}).` : ''} The CPU wall is cores x 1e6 / the server's CPU per handshake: new connections per second with every core doing nothing else.</p>${note}` +
      figure(
        cpu,
        'CPU per handshake, each side, plain TCP beside TLS (the table below has every figure).',
      ) +
      figure(mem, 'Process memory per held connection, each side (PSS growth over the ramp).') +
      "<p>Per connection: CPU per handshake and process memory (PSS) on each side, the kernel's (Slab, both ends); the CPU wall in new connections per second, the memory wall in connections held in the memory left for them.</p>" +
      `<div class="table-wrap"><table class="tls"><thead><tr><th></th>${head}</tr></thead><tbody>${rows}</tbody></table></div>`,
    charts: [cpu, mem],
  };
}

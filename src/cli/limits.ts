/** `fourtuple limits`: what will stop this machine first, and by how much. */
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';
import {
  DEFAULT_MEASURE_CONNECTIONS,
  DEFAULT_PRESET,
  DEFAULT_TLS_CONNECTIONS,
  type DescriptorObserver,
  type Limit,
  type LimitsOptions,
  type LimitsResult,
  type LimitsTls,
  limits,
  MAX_MEASURE_CONNECTIONS,
  MAX_TLS_CONNECTIONS,
  MIN_TLS_CONNECTIONS,
  PRESETS,
} from '../limits/index.js';
import { formatBytes } from '../units.js';
import { parseBigIntFlag, parseHostPort } from './_args.js';
import { type CommandContext, conflicts, defineCommand } from './_command.js';
import { groupDigits, printJson, table, wrap } from './_output.js';
import { REPORT_OPTION, writeCommandReport } from './_report.js';
import type { Spec, Values } from './_spec.js';
import { TLS_OPTIONS } from './_tls.js';

const FROM_IPS = { min: 1n, max: 2n ** 32n };
const TO_COUNT = { min: 1n, max: 2n ** 48n };
const MIN_MEASURE = 100;

function isLoopback(host: string): boolean {
  return isIP(host) === 4 ? host.startsWith('127.') : host === '::1';
}

/** --to: a count of destination endpoints, or a comma list of IP:PORT. */
function parseTo(text: string): { destinations: bigint; bothEndsLocal: boolean } {
  if (/^[\d_]+$/.test(text.trim())) {
    return { destinations: parseBigIntFlag('to', text, TO_COUNT), bothEndsLocal: true };
  }
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) {
    throw new UsageError(
      `--to must be a count from 1 to 2^48 or a comma list of IP:PORT (got "${text}")`,
      'to',
    );
  }
  const endpoints = items.map((s) => parseHostPort('to', s));
  const distinct = new Set(endpoints.map((e) => `${e.host}|${e.port}`));
  return {
    destinations: BigInt(distinct.size),
    bothEndsLocal: endpoints.every((e) => isLoopback(e.host)),
  };
}

const OPTIONS = {
  preset: {
    type: 'choice',
    choices: PRESETS,
    default: DEFAULT_PRESET,
    description:
      'the shape of traffic: many-ips is 254 loopback source IPs to one listener (the ' +
      'machine as a whole), server-side has its clients elsewhere',
  },
  'from-ips': {
    type: 'bigint',
    ...FROM_IPS,
    placeholder: 'K',
    defaultText: '1',
    description: 'source IP addresses',
  },
  to: {
    type: 'custom',
    placeholder: 'ENDPOINTS',
    accepts: 'a count from 1 to 2^48 or a comma list of IP:PORT',
    field: 'destinations',
    description:
      'destination ip:port endpoints: a count from 1 to 2^48, or a comma list of IP:PORT; ' +
      'both ends count as on this machine when all are loopback',
    parse: parseTo,
  },
  measure: {
    type: 'boolean',
    negatable: true,
    default: true,
    description: 'measure what one connection costs; off, memory uses reference figures',
  },
  connections: {
    type: 'int',
    min: MIN_MEASURE,
    max: MAX_MEASURE_CONNECTIONS,
    default: DEFAULT_MEASURE_CONNECTIONS,
    description: 'connections the measurement opens on 127.0.0.1',
  },
  tls: {
    type: 'boolean',
    field: false,
    description:
      'the walls with TLS too: a short TLS run on loopback (servers and clients in separate processes, after a plain-TCP baseline) measures CPU per handshake and memory per connection',
  },
  'tls-connections': {
    type: 'int',
    min: MIN_TLS_CONNECTIONS,
    max: MAX_TLS_CONNECTIONS,
    default: DEFAULT_TLS_CONNECTIONS,
    field: false,
    description: 'with --tls, connections the TLS run opens (and its plain-TCP baseline)',
  },
  cert: TLS_OPTIONS.cert,
  ...REPORT_OPTION,
} as const satisfies Spec;

/** Turns the flags into the library's options; every bad value is a one-line UsageError. */
export function limitsOptions(ctx: CommandContext<Values<typeof OPTIONS>>): LimitsOptions {
  const { values, given } = ctx;
  conflicts(ctx, 'preset', 'from-ips');
  conflicts(ctx, 'preset', 'to');
  const measure = values.measure;
  if (!measure) conflicts(ctx, 'measure', 'connections');
  // --tls measures (a TLS run): not what --no-measure asks for
  if (!measure) conflicts(ctx, 'measure', 'tls');
  const options: LimitsOptions = { measure };
  if (given.has('from-ips') || given.has('to')) {
    options.fromIps = values['from-ips'] ?? 1n;
    const to = values.to ?? { destinations: 1n, bothEndsLocal: true };
    options.destinations = to.destinations;
    options.bothEndsLocal = to.bothEndsLocal;
  } else options.preset = values.preset;
  if (measure) options.connections = values.connections;
  if (values.tls) {
    options.tls = {
      connections: values['tls-connections'],
      ...(values.cert !== undefined ? { cert: values.cert } : {}),
    };
  } else {
    for (const flag of ['tls-connections', 'cert'] as const) {
      if (given.has(flag)) throw new UsageError(`--${flag} needs --tls`, flag);
    }
  }
  return options;
}

function ceilingCell(l: Limit): string {
  if (l.ceiling === null || !l.applies) return '-';
  if (l.kind === 'burst') return `${groupDigits(l.ceiling)} at once`;
  return groupDigits(l.ceiling);
}

/** The human rendering of a limits result. */
export function formatLimits(r: LimitsResult): string {
  const rows = r.limits.map((l) => [
    l.name,
    l.value,
    ceilingCell(l),
    l.scope,
    `${l.raise}${l.raisable || l.raise.startsWith('none') ? '' : ' *'}`,
  ]);
  const lines = [
    `Shape: ${r.shape.description}${r.shape.name === 'custom' ? '' : ` (--preset ${r.shape.name})`}`,
    '',
    table(['limit', 'value', 'ceiling', 'scope', 'raise with (never run)'], rows, [
      'left',
      'left',
      'right',
    ]),
    '',
    '* this process cannot run it now (needs privileges, or /proc/sys is read-only)',
    '',
    'How each ceiling follows:',
    ...r.limits.map((l) =>
      wrap(`${l.name}: ${l.note}${l.applies ? '' : ' [does not bind]'}`, 88, '  ').replace(
        /^ {2}/,
        '  ',
      ),
    ),
    '',
  ];
  const m = r.measured;
  if (m) {
    lines.push(
      wrap(
        `Measured: ${groupDigits(m.connections)} established loopback connections in ${m.durationMs} ms ` +
          `cost ${formatBytes(m.kernelBytesPerConnection)} of kernel memory each (Slab, both ends) ` +
          `and ${formatBytes(m.userBytesPerConnection)} in the \`max\` worker that held them (its own memory, ${formatBytes(m.holderBaselineBytes)} before the first); ` +
          observerText(m.descriptorObserver) +
          (m.memAvailableBytesPerConnection > 0
            ? `MemAvailable fell ${formatBytes(m.memAvailableBytesPerConnection)} per connection (kernel and holder together, noisier). `
            : 'MemAvailable moved with other programs too much to say. ') +
          'All closed ' +
          `with RST: TCP inuse ${m.before.sockstat.tcpInuse} -> ${m.during.sockstat.tcpInuse} -> ` +
          `${m.after.sockstat.tcpInuse}, ${m.leftBehind} left behind.`,
      ),
      '',
    );
  } else {
    lines.push('Not measured (--no-measure): memory uses reference figures.', '');
  }
  lines.push(wrap(r.answer));
  if (r.tls) lines.push('', formatLimitsTls(r.tls));
  return lines.join('\n');
}

/** What a program listing descriptors added, in words ('' when nothing could be read). */
function observerText(o: DescriptorObserver | null | undefined): string {
  if (!o) return '';
  if (o.bytesPerConnection === 0) {
    return `no program listed descriptors here in ${(o.waitedMs / 1000).toFixed(1)} s of looking; `;
  }
  const where = o.seenOn ? ` (seen on ${o.seenOn})` : '';
  return (
    `a program on this machine lists every process's descriptors${where}: ` +
    `${formatBytes(o.bytesPerConnection)} more kernel memory per connection (a /proc inode and dentry per descriptor), counted in the wall; `
  );
}

const us = (n: number): string => `${groupDigits(n)} us`;

/** `limits --tls`: the walls with TLS beside plain TCP's, and where the costs came from. */
export function formatLimitsTls(t: LimitsTls): string {
  const m = t.measured;
  const col = (f: LimitsTls['tls']): string[] => [
    `${us(f.serverUsPerHandshake)} / ${us(f.clientUsPerHandshake)}`,
    `${formatBytes(f.serverBytesPerConnection)} / ${formatBytes(f.clientBytesPerConnection)}`,
    `${groupDigits(f.cpuWall.handshakesPerSec)}/s`,
    `${f.cpuWall.secondsToOpen} s`,
    `${groupDigits(f.memoryWall)} (${formatBytes(f.bytesPerConnection)} each)`,
  ];
  const rows = [
    'CPU per handshake, server / client',
    'memory per connection, server / client (PSS)',
    `CPU wall: ${t.cores} cores x 1e6 / server us`,
    `time to open ${groupDigits(t.open)} at the CPU wall`,
    'memory wall',
  ].map((label, i) => [label, col(t.tcp)[i]!, col(t.tls)[i]!]);
  return [
    'With TLS:',
    table(['', 'plain TCP', `TLS (${m.cert})`], rows, ['left', 'right', 'right']),
    '',
    wrap(
      `Measured now: ${groupDigits(m.established)} of ${groupDigits(m.connections)} ${m.protocol} connections on loopback (${m.key}, ${m.cipher || '?'}, group ${m.group || '?'}, OpenSSL ${m.openssl}) in ${(m.rampMs / 1000).toFixed(1)} s, after a plain-TCP baseline of as many in ${(m.baselineRampMs / 1000).toFixed(1)} s; servers and clients in separate processes. ` +
        `The memory wall divides the ${formatBytes(t.memoryBytes)} free for sockets by both ends' PSS${t.kernelCounted ? ` and the kernel's ${formatBytes(t.tls.kernelBytesPerConnection)}` : ' (the kernel not counted: other sockets came and went)'}. ` +
        'One handshake at a time per core, nothing else running: a real server also does its work.',
    ),
  ].join('\n');
}

export const limitsCommand = defineCommand({
  name: 'limits',
  summary: "this machine's limits, measured cost per connection, and which wall comes first",
  description: `Reads what bounds the number of TCP connections here (descriptors per process and system-wide,
ephemeral ports, memory, conntrack, accept backlog, TIME_WAIT), measures what one established
loopback connection costs, and predicts the ceiling each limit implies for a shape of traffic
(--preset, or --from-ips and --to), binding one first, with the command that would raise it.
No command is ever run. With --tls it also runs a short TLS run on loopback (--tls-connections,
TLS servers and clients in separate processes, after a plain-TCP baseline of as many) and prints
the walls with TLS beside plain TCP's: CPU wall = cores x 1e6 / server CPU us per handshake,
the time to open N at it, and the memory wall at the cost per connection measured.`,
  epilog: `Examples:
  fourtuple limits                                   # the machine as a whole
  fourtuple limits --preset one-client-one-server    # one client IP, one listener
  fourtuple limits --from-ips 4 --to 127.0.0.1:8080,127.0.0.1:8081 --no-measure
  fourtuple limits --tls --tls-connections 1000      # the walls with TLS beside plain TCP's`,
  options: OPTIONS,
  async run(ctx) {
    const { values, io, signal } = ctx;
    const options = limitsOptions(ctx);
    const report = values.report;
    // an InvalidOptionError (connections) is named by its flag in main.ts, from the spec
    const r = await limits({ ...options, signal });
    if (values.json) printJson(io, r);
    else io.stdout.write(`${formatLimits(r)}\n`);
    writeCommandReport(report, { limits: r }, io);
    return 0;
  },
});

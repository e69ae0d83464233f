/** `max --tls`: its options (declared once, spread into max's spec) and its part of the output. */
import { UsageError } from '../errors.js';
import type { MaxResult, MaxTlsOptions, TlsRunFigures } from '../scale/coordinator.js';
import { groupDigits, table } from './_output.js';

/** --cert: a throwaway kind, or a PEM file (checked when the run starts). */
function certValue(text: string, flag: string): MaxTlsOptions['cert'] {
  if (text === 'ecdsa' || text === 'rsa2048') return text;
  if (text.trim() === '')
    throw new UsageError(`--${flag} needs ecdsa, rsa2048 or a PEM file`, flag);
  return { file: text };
}

export const TLS_OPTIONS = {
  tls: {
    type: 'boolean',
    field: false,
    description:
      'TLS over every connection: servers and clients in separate processes, CPU per handshake and memory per connection on each side',
  },
  'tls-version': {
    type: 'choice',
    choices: ['1.3', '1.2'],
    field: false,
    defaultText: '1.3',
    description: 'the TLS version (1.0 and 1.1 are refused)',
  },
  cert: {
    type: 'custom',
    placeholder: 'CERT',
    accepts:
      'ecdsa, rsa2048 (throwaway, made with the system openssl) or a PEM file with cert and key',
    field: false,
    defaultText: 'ecdsa',
    description: "the servers' certificate: ecdsa (P-256), rsa2048, or FILE",
    parse: certValue,
  },
  resume: {
    type: 'boolean',
    field: false,
    description: 'resume sessions (tickets): each client process does one full handshake',
  },
  baseline: {
    type: 'boolean',
    negatable: true,
    default: true,
    field: false,
    description: 'with --tls, a short plain-TCP run first (--no-baseline: none)',
  },
} as const;

/** The TLS options from the parsed flags; undefined without --tls (and the TLS flags refused). */
export function tlsOptions(values: {
  tls?: boolean;
  'tls-version'?: '1.3' | '1.2';
  cert?: MaxTlsOptions['cert'];
  resume?: boolean;
  baseline?: boolean;
}): MaxTlsOptions | undefined {
  if (!values.tls) {
    for (const flag of ['tls-version', 'cert', 'resume'] as const) {
      if (values[flag] !== undefined && values[flag] !== false) {
        throw new UsageError(`--${flag} needs --tls`, flag);
      }
    }
    return undefined;
  }
  return {
    version: values['tls-version'] ?? '1.3',
    cert: values.cert ?? 'ecdsa',
    resume: values.resume ?? false,
    ...(values.baseline === false ? { baseline: 0 } : {}),
  };
}

const kb = (b: number): string => `${(b / 1024).toFixed(1)} KB`;
const ms = (us: number): string => `${(us / 1000).toFixed(2)} ms`;

function row(label: string, f: TlsRunFigures): string[] {
  return [
    label,
    `${groupDigits(f.established)} (${groupDigits(f.alive)} echoed)`,
    `${ms(f.server.cpuUsPerHandshake)} / ${ms(f.client.cpuUsPerHandshake)}`,
    `${groupDigits(f.server.handshakesPerSec)}/s`,
    `${kb(f.server.pssBytesPerConnection)} / ${kb(f.client.pssBytesPerConnection)}`,
    f.kernelTrusted ? kb(f.kernelBytesPerConnection) : 'n/a (other sockets came and went)',
  ];
}

/** The TLS part of `max`'s output: both runs side by side, then the walls. */
export function formatTls(r: MaxResult): string {
  const t = r.tls;
  if (!t) return '';
  const rows = [row(`TLS (${t.cert})`, t.run)];
  if (t.baseline) rows.push(row('plain TCP', t.baseline));
  const w = t.walls;
  const resumed = t.resume
    ? `; resumed ${groupDigits(t.run.resumed)} of ${groupDigits(t.run.established)} (${(t.run.resumedShare * 100).toFixed(1)}%)`
    : '';
  return [
    `TLS: ${t.negotiated.protocol || t.version}, ${t.negotiated.cipher || '?'}, group ${t.negotiated.group || '?'}, key ${t.key}, OpenSSL ${t.openssl}${resumed}`,
    `handshake time (client, under load): median ${t.run.latencyMs.median} ms, p99 ${t.run.latencyMs.p99} ms; source ports seen by the servers: ${t.ports.match ? 'all match' : t.ports.checked ? 'MISMATCH' : 'n/a'}`,
    table(
      [
        '',
        'connections',
        'CPU per handshake server / client',
        'server rate',
        'PSS per conn server / client',
        'kernel per conn',
      ],
      rows,
    ),
    `crypto floor on this CPU (sign ${t.floor.signUs} us, verify ${t.floor.verifyUs} us, X25519 ${t.floor.keyExchangeUs} us): server ${t.floor.serverUs} us, client ${t.floor.clientUs} us a full handshake; Node + OpenSSL ${t.openssl} cost ${t.floor.serverTimes}x / ${t.floor.clientTimes}x that`,
    `CPU wall (${w.cores} cores): server ${groupDigits(w.cpu.server.handshakesPerSec)} handshakes/s (${groupDigits(r.planned)} in ${w.cpu.server.secondsToOpen} s), client ${groupDigits(w.cpu.client.handshakesPerSec)}/s (${w.cpu.client.secondsToOpen} s)${w.cpu.baselineServer ? `; plain TCP: server ${groupDigits(w.cpu.baselineServer.handshakesPerSec)}/s, client ${groupDigits(w.cpu.baselineClient?.handshakesPerSec ?? 0)}/s` : ''}`,
    `memory wall: ${groupDigits(w.memory.tls)} TLS connections at ${kb(w.memory.bytesPerConnection)} each (both ends${w.memory.kernelCounted ? ' and the kernel' : '; the kernel not counted: other sockets came and went'})${w.memory.tcp !== undefined ? `, ${groupDigits(w.memory.tcp)} plain TCP` : ''}`,
  ].join('\n');
}

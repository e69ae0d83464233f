/** An experiment's sockets in words, with real addresses or symbolic ports (P, P+1, T). */
import type { AddrSpec, Experiment, OptionSpec } from './catalogue.js';
import { optionNames } from './steps.js';

/** The catalogue's sockets as lines with real addresses: "L1 listens on 127.0.0.1:23101". */
export function describeTopology(
  e: Experiment,
  base?: number,
  ipMap: (ip: string) => string = (ip) => ip,
): string[] {
  const port = (a: AddrSpec): string =>
    a.port === 'kernel'
      ? '0'
      : base !== undefined
        ? String(base + a.port)
        : a.port === 0
          ? 'P'
          : `P+${a.port}`;
  const addr = (a: AddrSpec): string => {
    const ip = ipMap(a.ip);
    return ip.includes(':') ? `[${ip}]:${port(a)}` : `${ip}:${port(a)}`;
  };
  const opts = (o: OptionSpec): string => {
    const names = optionNames(o);
    return names.length ? names.join(' + ') : 'no options';
  };
  if (e.restart) {
    const p = 'T';
    return [
      `L1 listens on 127.0.0.1:${p} (${e.restart.oldReuseaddr ? 'SO_REUSEADDR' : 'no options'}); C1 connects, L1's side closes first (TIME_WAIT on 127.0.0.1:${p}); L1 closes`,
      `L2 listens on 127.0.0.1:${p} again (${e.restart.newReuseaddr ? 'SO_REUSEADDR' : 'no options'}); C2 connects to it`,
    ];
  }
  return (e.sockets ?? []).map((s) => {
    if (s.role === 'listener') return `${s.id} listens on ${addr(s.at)} (${opts(s.options)})`;
    const from = s.from ? `binds ${addr(s.from)}, ` : '';
    const range = s.portRangeOf ? `, port range narrowed to ${s.portRangeOf}'s port` : '';
    return `${s.id} ${from}connects to ${addr(s.to)} (${opts(s.options)}${range})`;
  });
}

/** An experiment's sockets in words, with real addresses or symbolic ports (P, P+1, T). */
import type { AddrSpec, Experiment, OptionSpec } from './spec.js';
import { optionNames } from './steps.js';
import { worldRange } from './world.js';

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
  return [
    ...worldLines(e),
    ...(e.sockets ?? []).map((s) => {
      if (s.role === 'listener') return `${s.id} listens on ${addr(s.at)} (${opts(s.options)})`;
      const range = s.portRangeOf ? `, port range narrowed to ${s.portRangeOf}'s port` : '';
      if (!s.to)
        return `${s.id} binds ${s.from ? addr(s.from) : '?'} and holds it (${opts(s.options)})`;
      const from = s.from ? `binds ${addr(s.from)}, ` : '';
      return `${s.id} ${from}connects to ${addr(s.to)} (${opts(s.options)}${range})`;
    }),
    ...ceilingLines(e),
  ];
}

/** The world an experiment runs in, in words (none for the loopback experiments). */
function worldLines(e: Experiment): string[] {
  if (!e.world) return [];
  const [low, high] = worldRange(e.world);
  const range = low === high ? `the one port ${low}` : `${e.world.ports} ports, ${low}-${high}`;
  const via =
    e.world.via === 'sysctl'
      ? `net.ipv4.ip_local_port_range is ${range}`
      : `every socket's IP_LOCAL_PORT_RANGE is ${range} (the namespace keeps its default range)`;
  return [
    `in a network namespace of its own: ${via}; net.ipv4.ip_autobind_reuse=${e.world.autobindReuse}`,
  ];
}

/** The ceiling's connectors, which the catalogue does not list one by one. */
function ceilingLines(e: Experiment): string[] {
  if (!e.ceiling) return [];
  const how = {
    connect: 'connect() without bind',
    'bind-zero': 'bind(ip, 0), then connect()',
    'bind-no-port': 'IP_BIND_ADDRESS_NO_PORT + bind(ip, 0), then connect()',
  }[e.ceiling.strategy];
  return [
    `C1, C2, ...: ${how}, to ${e.ceiling.destinations.join(', then ')}, each until the kernel refuses`,
  ];
}

/**
 * Predicts how many concurrent TCP connections a shape of traffic can reach on this machine,
 * limit by limit: the ceiling each implies, its scope, and the exact command that would raise
 * it (printed, never run). Pure: works on a reading and a measurement passed in.
 */
import { type Tagged, tag } from '../result.js';
import type { ConnectionCost } from './measure.js';
import { known, type LimitsReading } from './read.js';

export const PRESETS = ['one-client-one-server', 'many-ips', 'server-side'] as const;
export type Preset = (typeof PRESETS)[number];

/** The traffic a prediction is for. */
export interface Shape {
  /** a preset's name, or 'custom' for --from-ips/--to */
  name: Preset | 'custom';
  /** source IP addresses the clients use; null when clients are remote and unbounded */
  fromIps: bigint | null;
  /** destination ip:port endpoints (listeners) */
  destinations: bigint;
  /** true when both ends of each connection are on this machine (loopback) */
  bothEndsLocal: boolean;
  description: string;
}

/** Loopback source addresses the many-ips preset uses: 127.0.0.1 to 127.0.0.254. */
export const MANY_IPS = 254n;

export function presetShape(preset: Preset): Shape {
  switch (preset) {
    case 'one-client-one-server':
      return {
        name: preset,
        fromIps: 1n,
        destinations: 1n,
        bothEndsLocal: true,
        description: 'one source IP to one listener ip:port, both ends on this machine',
      };
    case 'many-ips':
      return {
        name: preset,
        fromIps: MANY_IPS,
        destinations: 1n,
        bothEndsLocal: true,
        description: `${MANY_IPS} loopback source IPs (127.0.0.1-127.0.0.254) to one listener, both ends on this machine`,
      };
    case 'server-side':
      return {
        name: preset,
        fromIps: null,
        destinations: 1n,
        bothEndsLocal: false,
        description:
          'one listener accepting clients on other machines (only the server end is here)',
      };
  }
}

/** K source IPs to D destination endpoints; both ends local unless told otherwise. */
export function customShape(fromIps: bigint, destinations: bigint, bothEndsLocal = true): Shape {
  if (fromIps < 1n || destinations < 1n) {
    throw new RangeError('fromIps and destinations must be at least 1');
  }
  return {
    name: 'custom',
    fromIps,
    destinations,
    bothEndsLocal,
    description:
      `${fromIps} source IP(s) to ${destinations} destination ip:port(s), ` +
      (bothEndsLocal ? 'both ends on this machine' : 'only the client end on this machine'),
  };
}

export type Scope = 'process' | 'system' | 'per-destination';

/**
 * What a limit bounds: the connections held at once, a burst of new ones (accept backlog), or
 * the rate of closing and reopening (TIME_WAIT).
 */
export type LimitKind = 'concurrent' | 'burst' | 'churn';

export interface Limit {
  /** nofile.hard, fs.file-max, net.ipv4.ip_local_port_range, memory, ... */
  name: string;
  /** the current value as the kernel shows it, or "unknown: reason" */
  value: string;
  /** connections this limit allows for the shape; null when it does not bound them or is unknown */
  ceiling: bigint | null;
  scope: Scope;
  kind: LimitKind;
  /** false when the limit does not bind this shape or this process (the note says why) */
  applies: boolean;
  /** the exact command that would raise it; printed, never run */
  raise: string;
  /** whether this process could run that command now (privileges, read-only /proc/sys) */
  raisable: boolean;
  /** how the ceiling follows from the value */
  note: string;
  /** where the value was read */
  source: string;
}

/** Cost of one connection of the shape, as the prediction uses it. */
export interface PerConnection {
  /** descriptors one process holds per connection: 2 when both ends are in it */
  descriptors: number;
  /** kernel memory per connection (both ends when both are local) */
  kernelBytes: number;
  /** user-space memory in the holder per connection */
  userBytes: number;
  /** a holder process's fixed memory, spread over the connections it holds */
  holderBaselineBytes: number;
  /** what the memory ceiling divides by: kernel + user + the baseline spread over a process */
  totalBytes: number;
  /** true when measured on this machine now; false when the reference figures were used */
  measured: boolean;
}

export interface MachineEstimate {
  /** the first limit that is not per process: the wall for many processes together */
  binding: string;
  estimate: bigint;
  /** processes needed to get there, each held to the per-process estimate */
  processes: bigint;
}

export interface LimitsResult extends Tagged<'limits'> {
  shape: Shape;
  /** every limit, binding first: those that bound concurrent connections by ceiling, then the rest */
  limits: Limit[];
  /** the first wall for one process: the name of the first limit */
  binding: string;
  /** connections one process can hold: the binding limit's ceiling */
  estimate: bigint;
  /** the wall for the machine when connections are spread over processes */
  machine: MachineEstimate;
  perConnection: PerConnection;
  /** the one-paragraph answer */
  answer: string;
  readings: LimitsReading;
  /** the measurement, null with --no-measure */
  measured: ConnectionCost | null;
}

/**
 * Figures used when nothing was measured: an established loopback connection on Linux 6.x held
 * by node:net (both ends), from `fourtuple limits` on the development machine.
 */
export const REFERENCE_COST = {
  kernelBytesPerConnection: 8192,
  userBytesPerConnection: 7168,
  holderBaselineBytes: 64 * 1024 * 1024,
} as const;

export interface PredictOptions {
  /** what the kernel allows now (readLimits()) */
  readings: LimitsReading;
  /** measureConnectionCost()'s result; null or omitted to use REFERENCE_COST */
  measured?: ConnectionCost | null;
}

const fmt = (v: bigint | number): string => v.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** Bytes in a short human form: 8.2 KB, 23.2 GiB. */
export function showBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

const unknownValue = (r: { reason: string }): string => `unknown: ${r.reason}`;

/** Predicts every limit's ceiling for `shape`, sorted, with the binding one and the answer. */
export function predictLimits(shape: Shape, options: PredictOptions): LimitsResult {
  const r = options.readings;
  const measured = options.measured ?? null;
  const f = shape.bothEndsLocal ? 2 : 1;
  const ends = shape.bothEndsLocal ? 1 : 0.5;
  const per: PerConnection = {
    descriptors: f,
    kernelBytes: Math.round(
      (measured?.kernelBytesPerConnection ?? REFERENCE_COST.kernelBytesPerConnection) * ends,
    ),
    userBytes: Math.round(
      (measured?.userBytesPerConnection ?? REFERENCE_COST.userBytesPerConnection) * ends,
    ),
    holderBaselineBytes: measured?.holderBaselineBytes ?? REFERENCE_COST.holderBaselineBytes,
    totalBytes: 0,
    measured: measured !== null,
  };
  const caps = known(r.capabilities);
  const sysctlWritable = (_path: string): boolean => r.sysctlWritable;
  const limits: Limit[] = [];
  const sysRaise = (name: string, value: string): string => `sysctl -w ${name}=${value}`;

  // Descriptors per process.
  const nofile = known(r.nofile);
  const nrOpen = known(r.nrOpen);
  const perConn = shape.bothEndsLocal
    ? '2 descriptors per connection (both ends in one process)'
    : '1 descriptor per connection';
  const fdCeiling = (v: number | 'unlimited'): bigint | null =>
    v === 'unlimited' ? null : BigInt(Math.floor(v / f));
  if (nofile) {
    const hardTarget = nrOpen ?? 1048576;
    // hard before soft: equal ceilings keep this order, and the hard limit is the wall then
    const sysResource = caps?.sysResource ?? false;
    limits.push({
      name: 'nofile.hard',
      value: String(nofile.hard),
      ceiling: fdCeiling(nofile.hard),
      scope: 'process',
      kind: 'concurrent',
      applies: nofile.hard !== 'unlimited',
      raise: `prlimit --pid $$ --nofile=${hardTarget}:${hardTarget}`,
      raisable: sysResource,
      note:
        `RLIMIT_NOFILE hard: ${perConn}; raising it needs CAP_SYS_RESOURCE` +
        (sysResource
          ? ' (this process has it)'
          : ', which this process lacks: spread connections over processes instead'),
      source: r.nofile.source,
    });
    limits.push({
      name: 'nofile.soft',
      value: String(nofile.soft),
      ceiling: fdCeiling(nofile.soft),
      scope: 'process',
      kind: 'concurrent',
      applies: nofile.soft !== 'unlimited',
      raise: `ulimit -n ${nofile.hard === 'unlimited' ? hardTarget : nofile.hard}`,
      raisable: nofile.soft !== nofile.hard,
      note: `RLIMIT_NOFILE soft: ${perConn}; any process may raise it up to the hard limit`,
      source: r.nofile.source,
    });
  } else {
    for (const name of ['nofile.hard', 'nofile.soft']) {
      limits.push({
        name,
        value: unknownValue(r.nofile as { reason: string }),
        ceiling: null,
        scope: 'process',
        kind: 'concurrent',
        applies: false,
        raise: name === 'nofile.soft' ? 'ulimit -n N' : 'prlimit --pid $$ --nofile=N:N',
        raisable: false,
        note: 'RLIMIT_NOFILE could not be read',
        source: r.nofile.source,
      });
    }
  }
  limits.push({
    name: 'fs.nr_open',
    value: nrOpen === undefined ? unknownValue(r.nrOpen as { reason: string }) : String(nrOpen),
    ceiling: nrOpen === undefined ? null : BigInt(Math.floor(nrOpen / f)),
    scope: 'process',
    kind: 'concurrent',
    applies: nrOpen !== undefined,
    raise: sysRaise('fs.nr_open', String((nrOpen ?? 1048576) * 2)),
    raisable: sysctlWritable(r.nrOpen.source),
    note: `the largest RLIMIT_NOFILE anyone may set: ${perConn}`,
    source: r.nrOpen.source,
  });

  // Descriptors system-wide.
  const fileNr = known(r.fileNr);
  const fileMax = known(r.fileMax);
  const adminExempt = Boolean(caps?.sysAdmin && caps.initialUserNamespace);
  limits.push({
    name: 'fs.file-max',
    value:
      fileMax === undefined
        ? unknownValue(r.fileMax as { reason: string })
        : `${fileMax} (${fileNr ? fileNr.allocated : '?'} open now)`,
    ceiling:
      fileMax === undefined
        ? null
        : (fileMax - (fileNr?.allocated ?? 0n) > 0n ? fileMax - (fileNr?.allocated ?? 0n) : 0n) /
          BigInt(f),
    scope: 'system',
    kind: 'concurrent',
    applies: fileMax !== undefined && !adminExempt,
    raise: sysRaise('fs.file-max', String((fileMax ?? 1048576n) * 2n)),
    raisable: sysctlWritable(r.fileMax.source),
    note:
      `open files on the whole machine, less those open now: ${perConn}` +
      (adminExempt ? '; not enforced for this process, which has CAP_SYS_ADMIN' : ''),
    source: r.fileMax.source,
  });

  // Ephemeral ports per (source IP, destination ip:port).
  const range = known(r.portRange);
  const reserved = known(r.reservedPorts);
  const usable = range ? BigInt(range.size - (reserved?.inRange ?? 0)) : undefined;
  const rangeName = 'net.ipv4.ip_local_port_range';
  limits.push({
    name: rangeName,
    value: range
      ? `${range.low} ${range.high}` +
        (reserved && reserved.inRange > 0 ? ` less ${reserved.inRange} reserved` : '')
      : unknownValue(r.portRange as { reason: string }),
    ceiling:
      usable === undefined || shape.fromIps === null
        ? null
        : usable * shape.fromIps * shape.destinations,
    scope: 'per-destination',
    kind: 'concurrent',
    applies: usable !== undefined && shape.fromIps !== null,
    raise:
      `sysctl -w ${rangeName}="1024 65535"` +
      (reserved && reserved.inRange > 0 ? ' net.ipv4.ip_local_reserved_ports=""' : ''),
    raisable: sysctlWritable(r.portRange.source),
    note:
      shape.fromIps === null
        ? 'applies on each client, not on this server: every client IP has its own ports'
        : `${usable === undefined ? '?' : fmt(usable)} ephemeral ports (${reserved?.inRange ?? 0} reserved) per (source IP, destination ip:port) x ` +
          `${shape.fromIps} source IP(s) x ${shape.destinations} destination(s); a socket that ` +
          'binds its source IP keeps this only with IP_BIND_ADDRESS_NO_PORT; more source IPs ' +
          '(127.0.0.k) also raise it',
    source: r.portRange.source,
  });

  // Memory.
  const mem = known(r.memory);
  const cg = known(r.cgroupMemory);
  const cgFree =
    cg && cg.limitBytes !== 'unlimited' ? Math.max(0, cg.limitBytes - cg.usageBytes) : undefined;
  const available =
    mem === undefined
      ? undefined
      : cgFree === undefined
        ? mem.availableBytes
        : Math.min(mem.availableBytes, cgFree);
  const nofileCeiling = limits.find((l) => l.name === 'nofile.hard')?.ceiling ?? null;
  const perProcessConnections = nofileCeiling && nofileCeiling > 0n ? Number(nofileCeiling) : 1e6;
  const bytesPerConnection =
    per.kernelBytes + per.userBytes + Math.round(per.holderBaselineBytes / perProcessConnections);
  per.totalBytes = bytesPerConnection;
  limits.push({
    name: 'memory',
    value:
      available === undefined
        ? unknownValue(r.memory as { reason: string })
        : `${showBytes(available)} available` +
          (cgFree !== undefined && cgFree < (mem?.availableBytes ?? 0) ? ' (cgroup limit)' : ''),
    ceiling: available === undefined ? null : BigInt(Math.floor(available / bytesPerConnection)),
    scope: 'system',
    kind: 'concurrent',
    applies: available !== undefined,
    raise: 'none: add RAM or stop other programs',
    raisable: false,
    note:
      `${showBytes(bytesPerConnection)} per connection: ${showBytes(per.kernelBytes)} kernel ` +
      `+ ${showBytes(per.userBytes)} holder + the holder process's ` +
      `${showBytes(per.holderBaselineBytes)} spread over ${fmt(perProcessConnections)} ` +
      `connections (${per.measured ? 'measured now' : 'reference figures, not measured'})`,
    source: r.memory.source,
  });

  // Processes.
  const nproc = known(r.nproc);
  limits.push({
    name: 'nproc',
    value: nproc ? String(nproc.soft) : unknownValue(r.nproc as { reason: string }),
    ceiling:
      nproc && nproc.soft !== 'unlimited' && nofileCeiling !== null
        ? BigInt(nproc.soft) * nofileCeiling
        : null,
    scope: 'system',
    kind: 'concurrent',
    applies: Boolean(nproc && nproc.soft !== 'unlimited' && nofileCeiling !== null),
    raise: `ulimit -u ${nproc && nproc.hard !== 'unlimited' ? nproc.hard : 'unlimited'}`,
    raisable: Boolean(nproc && nproc.soft !== nproc.hard),
    note: 'RLIMIT_NPROC: processes this user may run, each holding at most the per-process ceiling',
    source: r.nproc.source,
  });

  // Connection tracking.
  const ct = known(r.conntrack);
  const tracked = measured?.conntrackEntriesPerConnection;
  const ctApplies =
    ct !== undefined && (tracked === undefined || tracked === null || tracked >= 0.5);
  limits.push({
    name: 'net.netfilter.nf_conntrack_max',
    value: ct ? `${ct.max} (${ct.count} tracked now)` : 'not loaded',
    ceiling: ct ? BigInt(Math.max(0, ct.max - ct.count)) : null,
    scope: 'system',
    kind: 'concurrent',
    applies: ctApplies,
    raise: sysRaise('net.netfilter.nf_conntrack_max', String((ct?.max ?? 262144) * 4)),
    raisable: sysctlWritable(r.conntrack.source),
    note: !ct
      ? 'conntrack is not loaded: connections are not tracked'
      : tracked !== undefined && tracked !== null && tracked < 0.5
        ? `loaded, but the measurement's loopback connections were not tracked (${tracked} entries per connection)`
        : 'each tracked connection takes one entry; when full, new connections are dropped',
    source: r.conntrack.source,
  });

  // TCP buffer memory.
  const tcpMem = known(r.tcpMem);
  const rmem = known(r.tcpRmem);
  const wmem = known(r.tcpWmem);
  const pages = measured?.tcpMemPagesPerConnection;
  const busy =
    tcpMem && rmem && wmem
      ? Math.floor(
          (tcpMem.high * tcpMem.pageSize) / ((rmem.default + wmem.default) * (f === 2 ? 2 : 1)),
        )
      : undefined;
  limits.push({
    name: 'net.ipv4.tcp_mem',
    value: tcpMem
      ? `${tcpMem.low} ${tcpMem.pressure} ${tcpMem.high} pages`
      : unknownValue(r.tcpMem as { reason: string }),
    ceiling:
      tcpMem && pages !== undefined && pages > 0 ? BigInt(Math.floor(tcpMem.high / pages)) : null,
    scope: 'system',
    kind: 'concurrent',
    applies: Boolean(tcpMem && pages !== undefined && pages > 0),
    raise: tcpMem
      ? `sysctl -w net.ipv4.tcp_mem="${tcpMem.low * 2} ${tcpMem.pressure * 2} ${tcpMem.high * 2}"`
      : 'sysctl -w net.ipv4.tcp_mem="LOW PRESSURE HIGH"',
    raisable: sysctlWritable(r.tcpMem.source),
    note:
      `socket buffers of all TCP sockets, at most ${tcpMem ? showBytes(tcpMem.high * tcpMem.pageSize) : '?'}; idle connections hold ${pages ?? 'about 0'} pages each` +
      (busy !== undefined
        ? `, but connections that fill their default buffers (tcp_rmem ${rmem?.default} + tcp_wmem ${wmem?.default} bytes) stop at about ${fmt(busy)}`
        : ''),
    source: r.tcpMem.source,
  });

  // Accept backlog during a burst.
  const somax = known(r.somaxconn);
  limits.push({
    name: 'net.core.somaxconn',
    value: somax === undefined ? unknownValue(r.somaxconn as { reason: string }) : String(somax),
    ceiling: somax === undefined ? null : BigInt(somax) * shape.destinations,
    scope: 'per-destination',
    kind: 'burst',
    applies: somax !== undefined,
    raise: sysRaise('net.core.somaxconn', '65535'),
    raisable: sysctlWritable(r.somaxconn.source),
    note: "connections waiting to be accepted per listener (caps listen()'s backlog); a burst beyond it is dropped and retried by SYN retransmission",
    source: r.somaxconn.source,
  });
  const syn = known(r.tcpMaxSynBacklog);
  limits.push({
    name: 'net.ipv4.tcp_max_syn_backlog',
    value: syn === undefined ? unknownValue(r.tcpMaxSynBacklog as { reason: string }) : String(syn),
    ceiling: syn === undefined ? null : BigInt(syn) * shape.destinations,
    scope: 'per-destination',
    kind: 'burst',
    applies: syn !== undefined,
    raise: sysRaise('net.ipv4.tcp_max_syn_backlog', '65535'),
    raisable: sysctlWritable(r.tcpMaxSynBacklog.source),
    note: 'half-open handshakes per listener; with tcp_syncookies on, a burst beyond it still completes',
    source: r.tcpMaxSynBacklog.source,
  });

  // Closing and reopening.
  const tw = known(r.tcpTwReuse);
  limits.push({
    name: 'net.ipv4.tcp_tw_reuse',
    value: tw === undefined ? unknownValue(r.tcpTwReuse as { reason: string }) : String(tw),
    ceiling: null,
    scope: 'per-destination',
    kind: 'churn',
    applies: tw !== undefined,
    raise: sysRaise('net.ipv4.tcp_tw_reuse', '1'),
    raisable: sysctlWritable(r.tcpTwReuse.source),
    note:
      'a connection closed with FIN holds its port in TIME_WAIT for 60 s; 1 lets new outgoing ' +
      'connections reuse such ports, 2 only on loopback; closing with RST leaves no TIME_WAIT',
    source: r.tcpTwReuse.source,
  });
  const fin = known(r.tcpFinTimeout);
  limits.push({
    name: 'net.ipv4.tcp_fin_timeout',
    value: fin === undefined ? unknownValue(r.tcpFinTimeout as { reason: string }) : `${fin} s`,
    ceiling: null,
    scope: 'system',
    kind: 'churn',
    applies: fin !== undefined,
    raise: sysRaise('net.ipv4.tcp_fin_timeout', '15'),
    raisable: sysctlWritable(r.tcpFinTimeout.source),
    note: 'how long an orphaned connection waits in FIN_WAIT_2 for the peer to close',
    source: r.tcpFinTimeout.source,
  });

  const sorted = sortLimits(limits);
  const candidates = sorted.filter(isCandidate);
  const first = candidates[0];
  const machineFirst = candidates.find((l) => l.scope !== 'process');
  const estimate = first?.ceiling ?? 0n;
  const machineEstimate = machineFirst?.ceiling ?? estimate;
  const processes =
    estimate > 0n ? (machineEstimate + estimate - 1n) / estimate : machineFirst ? 1n : 0n;
  const machine: MachineEstimate = {
    binding: machineFirst?.name ?? first?.name ?? 'none',
    estimate: machineEstimate,
    processes,
  };
  return {
    ...tag('limits'),
    shape,
    limits: sorted,
    binding: first?.name ?? 'none',
    estimate,
    machine,
    perConnection: per,
    answer: answer(shape, first, machineFirst, machine, sorted, per),
    readings: r,
    measured,
  };
}

/** A limit that can be the binding one: bounds concurrent connections, applies, has a ceiling. */
function isCandidate(l: Limit): boolean {
  return l.kind === 'concurrent' && l.applies && l.ceiling !== null;
}

/**
 * Candidates by ceiling (ties: one that cannot be raised first, then the narrower scope, then a
 * hard limit before its soft one, then by name), then every other limit in its original order.
 */
export function sortLimits(limits: Limit[]): Limit[] {
  const scopeRank: Record<Scope, number> = { process: 0, 'per-destination': 1, system: 2 };
  const candidates = limits.filter(isCandidate).sort((a, b) => {
    const d = a.ceiling! - b.ceiling!;
    if (d !== 0n) return d < 0n ? -1 : 1;
    if (a.raisable !== b.raisable) return a.raisable ? 1 : -1;
    if (a.scope !== b.scope) return scopeRank[a.scope] - scopeRank[b.scope];
    // a hard limit is the wall when its soft limit sits at the same value
    const hard = (l: Limit): number => (l.name.endsWith('.hard') ? 0 : 1);
    return hard(a) - hard(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  });
  return [...candidates, ...limits.filter((l) => !isCandidate(l))];
}

function wall(l: Limit, per: PerConnection): string {
  if (l.name === 'memory') {
    return `memory: ${l.value} at ${showBytes(per.totalBytes)} per connection (${showBytes(per.kernelBytes)} of it kernel, ${per.measured ? 'measured' : 'not measured'})`;
  }
  if (l.name === 'net.ipv4.ip_local_port_range') {
    return `${l.name}, ${l.note.split(';')[0]}`;
  }
  if (l.name === 'net.netfilter.nf_conntrack_max') {
    return `${l.name}: ${fmt(l.ceiling ?? 0n)} conntrack entries free`;
  }
  if (l.name.startsWith('nofile')) {
    return `${l.name}, ${fmt(Number(l.value))} descriptors at ${per.descriptors} per connection${
      l.name === 'nofile.hard' && !l.raisable
        ? ', which this process cannot raise (no CAP_SYS_RESOURCE)'
        : ''
    }`;
  }
  return `${l.name} = ${l.value}`;
}

function answer(
  shape: Shape,
  first: Limit | undefined,
  machineFirst: Limit | undefined,
  machine: MachineEstimate,
  sorted: Limit[],
  per: PerConnection,
): string {
  if (!first) return 'No limit could be read, so no ceiling can be predicted.';
  const parts = [
    `For ${shape.description}: one process can hold about ${fmt(first.ceiling!)} connections; ` +
      `the first wall is ${wall(first, per)}.`,
  ];
  if (machineFirst && machineFirst !== first) {
    parts.push(
      `Spread over ${fmt(machine.processes)} processes, the machine could hold about ` +
        `${fmt(machine.estimate)}: the wall is then ${wall(machineFirst, per)}.`,
    );
    const next = sorted
      .filter(isCandidate)
      .find((l) => l.scope !== 'process' && l !== machineFirst);
    if (next) parts.push(`After that comes ${next.name} at ${fmt(next.ceiling!)}.`);
  }
  if (first.raisable) parts.push(`This process may raise it: ${first.raise}.`);
  return parts.join(' ');
}

/**
 * The limits `fourtuple limits` knows, one rule each: its name, scope and kind, the reading it
 * takes, the ceiling it implies for a shape, how that follows, and the command that would raise
 * it (printed, never run). `evaluateRule` turns a rule and a context into a Limit. Pure.
 */

import { formatBytes } from '../units.js';
import type { FileNr, PortRange, Rlimit } from './procfs.js';
import type { Capabilities, Conntrack, LimitsReading, Reading, TcpMem } from './read.js';
import { known } from './read.js';
import type { Shape } from './shape.js';

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

/** Memory free to pay for connections. */
export interface MemoryBudget {
  /** bytes free for connections: MemAvailable, or less when the cgroup's limit is nearer */
  availableBytes: number;
  /** true when the cgroup's limit is what bounds it */
  cgroupBound: boolean;
}

/** Everything a rule may read. */
export interface RuleContext {
  shape: Shape;
  readings: LimitsReading;
  /** descriptors one process holds per connection: 2 when both ends are in it */
  descriptors: number;
  /** "2 descriptors per connection (both ends in one process)" */
  perConnection: string;
  /** connections one process may hold by its hard descriptor limit; null when not bounded */
  perProcess: bigint | null;
  capabilities: Capabilities | undefined;
  memory: Reading<MemoryBudget>;
  /** what one connection costs, all told (PerConnection.totalBytes), and how that adds up */
  bytesPerConnection: number;
  memoryNote: string;
  /** buffer pages an idle connection holds (tcp_mem), as measured or by default */
  tcpMemPages: number | undefined;
  /** conntrack entries per connection, null or undefined when not known */
  conntrackEntries: number | null | undefined;
  /** whether this process may write the sysctl read from `source` */
  writable(source: string): boolean;
}

export interface Rule<T> {
  name: string;
  scope: Scope;
  kind: LimitKind;
  /** the reading it takes (its source is the Limit's source) */
  input: (c: RuleContext) => Reading<T>;
  /** the value as shown; default String(v) */
  show?: (v: T, c: RuleContext) => string;
  /** shown when the reading is unknown; default "unknown: the reason" */
  showUnknown?: string;
  /** connections allowed for the shape; null when it does not bound them */
  ceiling: (v: T, c: RuleContext) => bigint | null;
  /** whether it binds; default: it has a ceiling */
  applies?: (v: T, c: RuleContext) => boolean;
  /** how the ceiling follows (v undefined when the reading is unknown) */
  note: (v: T | undefined, c: RuleContext) => string;
  raise: (v: T | undefined, c: RuleContext) => string;
  /** default: whether this process may write the sysctl it read */
  raisable?: (v: T | undefined, c: RuleContext) => boolean;
}

/** Evaluates one rule: the Limit it implies in this context. */
export function evaluateRule<T>(rule: Rule<T>, c: RuleContext): Limit {
  const reading = rule.input(c);
  const v = known(reading);
  const ceiling = v === undefined ? null : rule.ceiling(v, c);
  let value: string;
  if (v !== undefined) value = rule.show ? rule.show(v, c) : String(v);
  else value = rule.showUnknown ?? `unknown: ${(reading as { reason: string }).reason}`;
  return {
    name: rule.name,
    value,
    ceiling,
    scope: rule.scope,
    kind: rule.kind,
    applies: v !== undefined && (rule.applies ? rule.applies(v, c) : ceiling !== null),
    raise: rule.raise(v, c),
    raisable: rule.raisable ? rule.raisable(v, c) : c.writable(reading.source),
    note: rule.note(v, c),
    source: reading.source,
  };
}

/** A rule of any input type, for the table. */
// biome-ignore lint/suspicious/noExplicitAny: each rule's input and functions agree on its own T
export type AnyRule = Rule<any>;

const fmt = (v: bigint | number): string => v.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const sysRaise = (name: string, value: string): string => `sysctl -w ${name}=${value}`;
const perFds = (v: number | 'unlimited', c: RuleContext): bigint | null =>
  v === 'unlimited' ? null : BigInt(Math.floor(v / c.descriptors));
const DEFAULT_NR_OPEN = 1048576;

/** Simple sysctls: their value, a fixed raise, a ceiling per destination or none. */
function sysctlRule(
  name: string,
  path: (r: LimitsReading) => Reading<number>,
  kind: LimitKind,
  scope: Scope,
  raiseTo: string,
  note: string,
  perDestination: boolean,
  unit = '',
): Rule<number> {
  return {
    name,
    scope,
    kind,
    input: (c) => path(c.readings),
    show: (v) => `${v}${unit}`,
    ceiling: (v, c) => (perDestination ? BigInt(v) * c.shape.destinations : null),
    applies: () => true,
    note: () => note,
    raise: () => sysRaise(name, raiseTo),
  };
}

const nofileHard: Rule<Rlimit> = {
  name: 'nofile.hard',
  scope: 'process',
  kind: 'concurrent',
  input: (c) => c.readings.nofile,
  show: (v) => String(v.hard),
  ceiling: (v, c) => perFds(v.hard, c),
  note: (v, c) => {
    if (v === undefined) return 'RLIMIT_NOFILE could not be read';
    const has = c.capabilities?.sysResource ?? false;
    return (
      `RLIMIT_NOFILE hard: ${c.perConnection}; raising it needs CAP_SYS_RESOURCE` +
      (has
        ? ' (this process has it)'
        : ', which this process lacks: spread connections over processes instead')
    );
  },
  raise: (v, c) => {
    const target = known(c.readings.nrOpen) ?? DEFAULT_NR_OPEN;
    return v === undefined
      ? 'prlimit --pid $$ --nofile=N:N'
      : `prlimit --pid $$ --nofile=${target}:${target}`;
  },
  raisable: (v, c) => v !== undefined && (c.capabilities?.sysResource ?? false),
};

const nofileSoft: typeof nofileHard = {
  ...nofileHard,
  name: 'nofile.soft',
  show: (v) => String(v.soft),
  ceiling: (v, c) => perFds(v.soft, c),
  note: (v, c) =>
    v === undefined
      ? 'RLIMIT_NOFILE could not be read'
      : `RLIMIT_NOFILE soft: ${c.perConnection}; any process may raise it up to the hard limit`,
  raise: (v, c) =>
    v === undefined
      ? 'ulimit -n N'
      : `ulimit -n ${v.hard === 'unlimited' ? (known(c.readings.nrOpen) ?? DEFAULT_NR_OPEN) : v.hard}`,
  raisable: (v) => v !== undefined && v.soft !== v.hard,
};

const nrOpen: Rule<number> = {
  name: 'fs.nr_open',
  scope: 'process',
  kind: 'concurrent',
  input: (c) => c.readings.nrOpen,
  ceiling: (v, c) => BigInt(Math.floor(v / c.descriptors)),
  note: (_v, c) => `the largest RLIMIT_NOFILE anyone may set: ${c.perConnection}`,
  raise: (v) => sysRaise('fs.nr_open', String((v ?? DEFAULT_NR_OPEN) * 2)),
};

/** CAP_SYS_ADMIN in the initial user namespace: fs.file-max is not enforced. */
const adminExempt = (c: RuleContext): boolean =>
  Boolean(c.capabilities?.sysAdmin && c.capabilities.initialUserNamespace);
const fileNr = (c: RuleContext): FileNr | undefined => known(c.readings.fileNr);

const fileMax: Rule<bigint> = {
  name: 'fs.file-max',
  scope: 'system',
  kind: 'concurrent',
  input: (c) => c.readings.fileMax,
  show: (v, c) => `${v} (${fileNr(c)?.allocated ?? '?'} open now)`,
  ceiling: (v, c) => {
    const free = v - (fileNr(c)?.allocated ?? 0n);
    return (free > 0n ? free : 0n) / BigInt(c.descriptors);
  },
  applies: (_v, c) => !adminExempt(c),
  note: (_v, c) =>
    `open files on the whole machine, less those open now: ${c.perConnection}` +
    (adminExempt(c) ? '; not enforced for this process, which has CAP_SYS_ADMIN' : ''),
  raise: (v) => sysRaise('fs.file-max', String((v ?? 1048576n) * 2n)),
};

const RANGE = 'net.ipv4.ip_local_port_range';
const reservedIn = (c: RuleContext): number => known(c.readings.reservedPorts)?.inRange ?? 0;

const portRange: Rule<PortRange> = {
  name: RANGE,
  scope: 'per-destination',
  kind: 'concurrent',
  input: (c) => c.readings.portRange,
  show: (v, c) =>
    `${v.low} ${v.high}` + (reservedIn(c) > 0 ? ` less ${reservedIn(c)} reserved` : ''),
  ceiling: (v, c) =>
    c.shape.fromIps === null
      ? null
      : BigInt(v.size - reservedIn(c)) * c.shape.fromIps * c.shape.destinations,
  note: (v, c) =>
    c.shape.fromIps === null
      ? 'applies on each client, not on this server: every client IP has its own ports'
      : `${v === undefined ? '?' : fmt(v.size - reservedIn(c))} ephemeral ports (${reservedIn(c)} reserved) per (source IP, destination ip:port) x ` +
        `${c.shape.fromIps} source IP(s) x ${c.shape.destinations} destination(s); a socket that ` +
        'binds its source IP keeps this only with IP_BIND_ADDRESS_NO_PORT; more source IPs ' +
        '(127.0.0.k) also raise it',
  raise: (_v, c) =>
    `sysctl -w ${RANGE}="1024 65535"` +
    (reservedIn(c) > 0 ? ' net.ipv4.ip_local_reserved_ports=""' : ''),
};

const memory: Rule<MemoryBudget> = {
  name: 'memory',
  scope: 'system',
  kind: 'concurrent',
  input: (c) => c.memory,
  show: (v) =>
    `${formatBytes(v.availableBytes)} free for sockets${v.cgroupBound ? ' (cgroup limit)' : ''}`,
  ceiling: (v, c) => BigInt(Math.floor(v.availableBytes / c.bytesPerConnection)),
  note: (_v, c) => c.memoryNote,
  raise: () => 'none: add RAM or stop other programs',
  raisable: () => false,
};

const nproc: Rule<Rlimit> = {
  name: 'nproc',
  scope: 'system',
  kind: 'concurrent',
  input: (c) => c.readings.nproc,
  show: (v) => String(v.soft),
  ceiling: (v, c) =>
    v.soft !== 'unlimited' && c.perProcess !== null ? BigInt(v.soft) * c.perProcess : null,
  note: () =>
    'RLIMIT_NPROC: processes this user may run, each holding at most the per-process ceiling',
  raise: (v) => `ulimit -u ${v && v.hard !== 'unlimited' ? v.hard : 'unlimited'}`,
  raisable: (v) => Boolean(v && v.soft !== v.hard),
};

/** Whether the measurement saw its loopback connections tracked (unknown counts as yes). */
const untracked = (c: RuleContext): boolean =>
  c.conntrackEntries !== undefined && c.conntrackEntries !== null && c.conntrackEntries < 0.5;

const conntrack: Rule<Conntrack> = {
  name: 'net.netfilter.nf_conntrack_max',
  scope: 'system',
  kind: 'concurrent',
  input: (c) => c.readings.conntrack,
  show: (v) => `${v.max} (${v.count} tracked now)`,
  showUnknown: 'not loaded',
  ceiling: (v) => BigInt(Math.max(0, v.max - v.count)),
  applies: (_v, c) => !untracked(c),
  note: (v, c) =>
    !v
      ? 'conntrack is not loaded: connections are not tracked'
      : untracked(c)
        ? `loaded, but the measurement's loopback connections were not tracked (${c.conntrackEntries} entries per connection)`
        : 'each tracked connection takes one entry; when full, new connections are dropped',
  raise: (v) => sysRaise('net.netfilter.nf_conntrack_max', String((v?.max ?? 262144) * 4)),
};

const tcpMem: Rule<TcpMem> = {
  name: 'net.ipv4.tcp_mem',
  scope: 'system',
  kind: 'concurrent',
  input: (c) => c.readings.tcpMem,
  show: (v) => `${v.low} ${v.pressure} ${v.high} pages`,
  ceiling: (v, c) =>
    c.tcpMemPages !== undefined && c.tcpMemPages > 0
      ? BigInt(Math.floor(v.high / c.tcpMemPages))
      : null,
  note: (v, c) => {
    const rmem = known(c.readings.tcpRmem);
    const wmem = known(c.readings.tcpWmem);
    const busy =
      v && rmem && wmem
        ? Math.floor((v.high * v.pageSize) / ((rmem.default + wmem.default) * c.descriptors))
        : undefined;
    return (
      `socket buffers of all TCP sockets, at most ${v ? formatBytes(v.high * v.pageSize) : '?'}; idle connections hold ${c.tcpMemPages ?? 'about 0'} pages each` +
      (busy !== undefined
        ? `, but connections that fill their default buffers (tcp_rmem ${rmem?.default} + tcp_wmem ${wmem?.default} bytes) stop at about ${fmt(busy)}`
        : '')
    );
  },
  raise: (v) =>
    v
      ? `sysctl -w net.ipv4.tcp_mem="${v.low * 2} ${v.pressure * 2} ${v.high * 2}"`
      : 'sysctl -w net.ipv4.tcp_mem="LOW PRESSURE HIGH"',
};

/** Every rule, in the order limits are listed when their ceilings tie or do not bind. */
export const RULES: readonly AnyRule[] = [
  // descriptors per process (hard before soft: at equal ceilings the hard limit is the wall)
  nofileHard,
  nofileSoft,
  nrOpen,
  // descriptors system-wide, ports per (source IP, destination), memory, processes
  fileMax,
  portRange,
  memory,
  nproc,
  conntrack,
  tcpMem,
  // accept backlog during a burst
  sysctlRule(
    'net.core.somaxconn',
    (r) => r.somaxconn,
    'burst',
    'per-destination',
    '65535',
    "connections waiting to be accepted per listener (caps listen()'s backlog); a burst beyond it is dropped and retried by SYN retransmission",
    true,
  ),
  sysctlRule(
    'net.ipv4.tcp_max_syn_backlog',
    (r) => r.tcpMaxSynBacklog,
    'burst',
    'per-destination',
    '65535',
    'half-open handshakes per listener; with tcp_syncookies on, a burst beyond it still completes',
    true,
  ),
  // closing and reopening
  sysctlRule(
    'net.ipv4.tcp_tw_reuse',
    (r) => r.tcpTwReuse,
    'churn',
    'per-destination',
    '1',
    'a connection closed with FIN holds its port in TIME_WAIT for 60 s; 1 lets new outgoing ' +
      'connections reuse such ports, 2 only on loopback; closing with RST leaves no TIME_WAIT',
    false,
  ),
  sysctlRule(
    'net.ipv4.tcp_fin_timeout',
    (r) => r.tcpFinTimeout,
    'churn',
    'system',
    '15',
    'how long an orphaned connection waits in FIN_WAIT_2 for the peer to close',
    false,
    ' s',
  ),
];

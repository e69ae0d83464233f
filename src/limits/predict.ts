/**
 * Predicts how many concurrent TCP connections a shape of traffic can reach on this machine,
 * limit by limit: the ceiling each implies, its scope, and the exact command that would raise
 * it (printed, never run). Pure: works on a reading and a measurement passed in; the limits
 * themselves are the table of rules in rules.ts.
 */
import { type Tagged, tag } from '../result.js';
import { defaultMemoryFloor } from '../scale/plan.js';
import { formatBytes } from '../units.js';
import type { ConnectionCost } from './measure.js';
import { known, type LimitsReading, type Reading } from './read.js';
import {
  evaluateRule,
  type Limit,
  type MemoryBudget,
  RULES,
  type RuleContext,
  type Scope,
} from './rules.js';
import type { Shape } from './shape.js';
import type { LimitsTls } from './tls.js';

/** Cost of one connection of the shape, as the prediction uses it. */
export interface PerConnection {
  /** descriptors one process holds per connection: 2 when both ends are in it */
  descriptors: number;
  /** kernel memory per connection (both ends when both are local), observerBytes included */
  kernelBytes: number;
  /**
   * of kernelBytes, what a program listing every process's descriptors adds on this machine
   * (/proc inodes and dentries, measured: ConnectionCost.descriptorObserver); 0 when none
   */
  observerBytes?: number;
  /** user-space memory in the holder per connection */
  userBytes: number;
  /** a holder process's fixed memory (its anonymous pages), spread over the connections it holds */
  holderBaselineBytes: number;
  /** what the memory ceiling divides by: kernel + user + the baseline spread over a process */
  totalBytes: number;
  /** true when measured on this machine now; false when the default figures were used */
  measured: boolean;
  /** why the default figures were used (not measured, or the measurement was uncertain); null when measured */
  fallback: string | null;
}

export interface MachineEstimate {
  /** the first limit that is not per process: the wall for many processes together */
  binding: string;
  estimate: bigint;
  /** processes needed to get there, each held to the per-process estimate */
  processes: bigint;
  /**
   * where `fourtuple max` stops when memory is the wall: its memory guard keeps `floorBytes`
   * free (defaultMemoryFloor: 10% of the memory, at least 2 GiB), so it holds the connections
   * that fit above it. Absent when the memory free for sockets could not be read.
   */
  maxGuard?: { floorBytes: number; connections: bigint };
  /**
   * When memory is the wall and other programs hold TCP sockets (sockstat's TCP inuse, read
   * before the measurement): their memory is not free now, and were they closed about
   * `moreIfClosed` more connections would fit (each socket taken at half a connection's kernel
   * memory: one end). Absent when there are fewer than OPEN_NOW_SOCKETS.
   */
  openNow?: { tcpSockets: number; moreIfClosed: bigint };
}

/** Sockets other programs hold before the wall's answer mentions them. */
export const OPEN_NOW_SOCKETS = 10_000;

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
  /** `limits --tls`: the walls with TLS beside the plain-TCP walls, from a short TLS run */
  tls?: LimitsTls;
}

/**
 * Figures used when nothing was measured, or the measurement was not certain: an established
 * loopback connection held by the engine `max` uses (both ends in one process), as
 * `fourtuple limits` measured it on the development machine (2 cores, 24 GiB, Linux 6.x): Slab
 * 7.6-7.7 KiB per connection quiet and 7.5-8.3 KiB beside a 200k `max` loop (its own, without a
 * descriptor lister's /proc inodes), a `max` worker's anonymous memory 120-222 B more per
 * connection and 9.3-9.4 MiB before its first.
 */
export const REFERENCE_COST = {
  kernelBytesPerConnection: 8192,
  userBytesPerConnection: 256,
  holderBaselineBytes: 10 * 1024 * 1024,
  tcpMemPagesPerConnection: 0,
} as const;

export interface PredictOptions {
  /** what the kernel allows now (readLimits()) */
  readings: LimitsReading;
  /** measureConnectionCost()'s result; null or omitted to use REFERENCE_COST */
  measured?: ConnectionCost | null;
}

const fmt = (v: bigint | number): string => v.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** The measured figures when they are certain, else REFERENCE_COST and the reason. */
function costUsed(measured: ConnectionCost | null): {
  cost: Pick<
    ConnectionCost,
    | 'kernelBytesPerConnection'
    | 'userBytesPerConnection'
    | 'holderBaselineBytes'
    | 'tcpMemPagesPerConnection'
  > & { conntrackEntriesPerConnection?: number | null };
  fallback: string | null;
} {
  if (measured === null) return { cost: REFERENCE_COST, fallback: 'not measured' };
  // a measurement from before certainty was judged has no `certainty`: it is taken as it is
  const reasons = measured.certainty?.reasons ?? [];
  if (reasons.length === 0) return { cost: measured, fallback: null };
  return {
    cost: {
      ...REFERENCE_COST,
      // a worker's own memory is read apart from Slab's noise: kept when Slab's figure is not
      ...(measured.holderBaselineOf === 'max worker'
        ? {
            holderBaselineBytes: measured.holderBaselineBytes,
            userBytesPerConnection: measured.userBytesPerConnection,
          }
        : {}),
      conntrackEntriesPerConnection: measured.conntrackEntriesPerConnection,
    },
    fallback:
      `measured ${formatBytes(measured.kernelBytesPerConnection)} of kernel memory per ` +
      `connection, but not certain: ${reasons.join('; ')}`,
  };
}

/** What each connection costs for the shape, from the figures used. */
function perConnection(shape: Shape, measured: ConnectionCost | null): PerConnection {
  const { cost, fallback } = costUsed(measured);
  const ends = shape.bothEndsLocal ? 1 : 0.5;
  // counted from /proc/slabinfo, apart from Slab's noise: used even when Slab's figure is not
  const observer = Math.round((measured?.descriptorObserver?.bytesPerConnection ?? 0) * ends);
  return {
    descriptors: shape.bothEndsLocal ? 2 : 1,
    kernelBytes: Math.round(cost.kernelBytesPerConnection * ends) + observer,
    observerBytes: observer,
    userBytes: Math.round(cost.userBytesPerConnection * ends),
    holderBaselineBytes: cost.holderBaselineBytes,
    totalBytes: 0,
    measured: fallback === null,
    fallback,
  };
}

/** Memory free for connections: MemAvailable less pinned slab (readMemory), or the cgroup's room when that is less. */
export function memoryBudget(r: LimitsReading): Reading<MemoryBudget> {
  const mem = known(r.memory);
  if (mem === undefined) return r.memory as Reading<MemoryBudget>;
  const cg = known(r.cgroupMemory);
  const cgFree =
    cg && cg.limitBytes !== 'unlimited' ? Math.max(0, cg.limitBytes - cg.usageBytes) : undefined;
  const cgroupBound = cgFree !== undefined && cgFree < mem.availableBytes;
  return {
    value: { availableBytes: cgroupBound ? cgFree : mem.availableBytes, cgroupBound },
    source: r.memory.source,
  };
}

/** The context every rule reads, and the cost per connection it settles. */
function ruleContext(
  shape: Shape,
  r: LimitsReading,
  measured: ConnectionCost | null,
): { context: RuleContext; per: PerConnection } {
  const per = perConnection(shape, measured);
  const { cost } = costUsed(measured);
  const nofile = known(r.nofile);
  const perProcess =
    nofile && nofile.hard !== 'unlimited'
      ? BigInt(Math.floor(nofile.hard / per.descriptors))
      : null;
  const spreadOver = perProcess && perProcess > 0n ? Number(perProcess) : 1e6;
  per.totalBytes =
    per.kernelBytes + per.userBytes + Math.round(per.holderBaselineBytes / spreadOver);
  const memoryNote =
    `${formatBytes(per.totalBytes)} per connection: ${formatBytes(per.kernelBytes)} kernel ` +
    (per.observerBytes
      ? `(${formatBytes(per.observerBytes)} of it /proc inodes that a program listing descriptors adds) `
      : '') +
    `+ ${formatBytes(per.userBytes)} holder + a holder process's own ` +
    `${formatBytes(per.holderBaselineBytes)} (a \`max\` worker's heap) spread over ${fmt(spreadOver)} ` +
    `connections (${per.fallback === null ? 'measured now' : `default figures: ${per.fallback}`})`;
  const context: RuleContext = {
    shape,
    readings: r,
    descriptors: per.descriptors,
    perConnection: shape.bothEndsLocal
      ? '2 descriptors per connection (both ends in one process)'
      : '1 descriptor per connection',
    perProcess,
    capabilities: known(r.capabilities),
    memory: memoryBudget(r),
    bytesPerConnection: per.totalBytes,
    memoryNote,
    tcpMemPages: measured === null ? undefined : cost.tcpMemPagesPerConnection,
    conntrackEntries: measured?.conntrackEntriesPerConnection,
    writable: (source) => r.writableSysctls[source] ?? false,
  };
  return { context, per };
}

/** Predicts every limit's ceiling for `shape`, sorted, with the binding one and the answer. */
export function predictLimits(shape: Shape, options: PredictOptions): LimitsResult {
  const r = options.readings;
  const measured = options.measured ?? null;
  const { context, per } = ruleContext(shape, r, measured);
  const sorted = sortLimits(RULES.map((rule) => evaluateRule(rule, context)));
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
    ...maxGuard(r, per),
    ...openNow(r, per, machineFirst),
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

/** Where `max`'s memory guard stops it: the connections that fit above its floor. */
function maxGuard(r: LimitsReading, per: PerConnection): Pick<MachineEstimate, 'maxGuard'> {
  const budget = known(memoryBudget(r));
  const mem = known(r.memory);
  if (!budget || !mem || per.totalBytes <= 0) return {};
  const cg = known(r.cgroupMemory);
  // a run bound by its cgroup keeps a share of the cgroup's limit, as `max` does (readMem)
  const total =
    budget.cgroupBound && cg && cg.limitBytes !== 'unlimited' ? cg.limitBytes : mem.totalBytes;
  const floorBytes = defaultMemoryFloor(total);
  const above = Math.max(0, budget.availableBytes - floorBytes);
  return { maxGuard: { floorBytes, connections: BigInt(Math.floor(above / per.totalBytes)) } };
}

/** Other programs' TCP sockets when memory is the wall: what closing them would free. */
function openNow(
  r: LimitsReading,
  per: PerConnection,
  wall: Limit | undefined,
): Pick<MachineEstimate, 'openNow'> {
  const ss = known(r.sockstat);
  if (wall?.name !== 'memory' || !ss || ss.tcpInuse < OPEN_NOW_SOCKETS || per.totalBytes <= 0) {
    return {};
  }
  const perSocket = per.kernelBytes / per.descriptors;
  return {
    openNow: {
      tcpSockets: ss.tcpInuse,
      moreIfClosed: BigInt(Math.floor((ss.tcpInuse * perSocket) / per.totalBytes)),
    },
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
    return `memory: ${l.value} at ${formatBytes(per.totalBytes)} per connection (${formatBytes(per.kernelBytes)} of it kernel, ${per.measured ? 'measured' : `default figures: ${per.fallback}`})`;
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
  const guard = machine.maxGuard;
  if (machine.binding === 'memory' && guard && guard.connections < machine.estimate) {
    parts.push(
      `\`fourtuple max\` stops at about ${fmt(guard.connections)}: its memory guard keeps ` +
        `${formatBytes(guard.floorBytes)} free.`,
    );
  }
  const open = machine.openNow;
  if (open) {
    parts.push(
      `Other programs hold ${fmt(open.tcpSockets)} TCP sockets now: their memory is not free, ` +
        `and were they closed about ${fmt(open.moreIfClosed)} more would fit.`,
    );
  }
  if (first.raisable) parts.push(`This process may raise it: ${first.raise}.`);
  return parts.join(' ');
}

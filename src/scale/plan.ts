/**
 * Planning a `max` run, before any process starts: the machine's readings, how many workers,
 * descriptors and connections the run needs (pure), and the target policy.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { UsageError } from '../errors.js';
import {
  CAP_SYS_ADMIN,
  ephemeralPortRange,
  hasCapability,
  isInitialUserNamespace,
  type PortRange,
  parseCapEff,
  readProcInodes,
} from '../limits/procfs.js';
import { anyRemote, assertTargetsAllowed } from '../policy/targets.js';
import { getNofileLimit, type NofileLimit } from '../sockets/rlimit.js';
import { type MemSample, readFileNr, readMem, readPageReportingOrder } from './_proc.js';
import type { MaxOptions, MaxResult } from './types.js';

/** Descriptors a worker keeps for itself (node's own, IPC, epoll) before counting sockets. */
const WORKER_RESERVE_FDS = 64;
/**
 * Memory per connection assumed when planning 'auto', so low that the plan is an upper bound:
 * half the kernel's part alone (Slab, both ends: 7.8-8.2 KiB on Linux 6.18; a v1 memory cgroup
 * is charged about 6.8 KiB of it). The run measures the whole cost as it ramps and starts no
 * more workers once the memory above the floor is spoken for (`fitsMore`); the memory guard
 * stops the last ones at the floor.
 */
const PLAN_BYTES_PER_CONNECTION = 4 * 1024;
/** connections held before the run trusts its own measured cost per connection */
export const COST_MEASURED_AFTER = 20_000;

export function defaultMemoryFloor(totalBytes: number): number {
  // 10% of the memory, and at least 2 GiB on a machine of 8 GiB or more (MemAvailable overstates
  // what is free near the wall); a small cgroup keeps a quarter of its limit instead.
  return Math.round(Math.max(totalBytes * 0.1, Math.min(2 * 1024 ** 3, totalBytes * 0.25)));
}

/**
 * The ramp's bound when --duration is not given: 2 minutes for a number of connections; 10
 * minutes for 'auto' (it runs to the memory wall: on 2 cores and 24 GiB about 1.9M, and this
 * machine's connect rate fell to 5,500-13,000/s near the top, 2.5-6 minutes) and for --tls
 * (handshakes cost about 10x a plain connect on each side: ~70/s measured on 2 busy cores).
 */
export function defaultDurationMs(o: { connections?: number | 'auto'; tls?: boolean }): number {
  return o.tls || o.connections === 'auto' ? 600_000 : 120_000;
}

export interface Plan {
  connections: number;
  workers: number;
  fdsPerWorker: number;
  perWorker: number;
  /** what bounded an 'auto' plan */
  boundBy: string;
}

/** How many workers, descriptors and connections a run needs. Pure: inputs are the readings. */
export function planMax(input: {
  connections: number | 'auto';
  workers?: number | 'auto';
  fdsPerWorker: number;
  bothEnds: boolean;
  memAvailableBytes: number;
  memoryFloorBytes: number;
  fileMaxFree: number;
  /** CAP_SYS_ADMIN in the initial user namespace: the kernel does not enforce fs.file-max */
  fileMaxExempt?: boolean;
  ephemeralPorts: number;
  targets: number;
}): Plan {
  const fdsPerConn = input.bothEnds ? 2 : 1;
  const perWorkerCap = Math.max(
    1,
    Math.floor((input.fdsPerWorker - WORKER_RESERVE_FDS) / fdsPerConn),
  );
  const memoryBound = Math.max(
    0,
    Math.floor((input.memAvailableBytes - input.memoryFloorBytes) / PLAN_BYTES_PER_CONNECTION),
  );
  // alloc_empty_file() lets CAP_SYS_ADMIN (initial user namespace) past fs.file-max: root's
  // runs are not bounded by it (on this 24 GiB machine it is 2,466,160 files, 1.17M connections
  // with both ends here, well below the memory wall)
  const fileBound = input.fileMaxExempt
    ? Number.POSITIVE_INFINITY
    : Math.floor((input.fileMaxFree * 0.95) / fdsPerConn);
  // With --target every worker connects from 127.0.0.1 to the same destinations: the ephemeral
  // range bounds the whole run per destination. Our own listeners get one port per worker.
  const portBound = input.bothEnds
    ? Number.POSITIVE_INFINITY
    : input.ephemeralPorts * input.targets;
  let connections: number;
  let boundBy = 'requested';
  if (input.connections === 'auto') {
    const bounds: [string, number][] = [
      ['memory (free for sockets, above the floor)', memoryBound],
      ['fs.file-max', fileBound],
      ['ephemeral ports per destination', portBound],
    ];
    bounds.sort((a, b) => a[1] - b[1]);
    connections = bounds[0]![1];
    boundBy = bounds[0]![0];
  } else {
    connections = input.connections;
  }
  let workers: number;
  if (input.workers === undefined || input.workers === 'auto') {
    workers = Math.max(1, Math.ceil(connections / perWorkerCap));
  } else {
    workers = input.workers;
  }
  const perWorker = Math.ceil(connections / workers);
  return { connections, workers, fdsPerWorker: input.fdsPerWorker, perWorker, boundBy };
}

/**
 * The share of the `index`-th worker to be ready, when `assigned` connections went to those
 * before it: its part of the plan, no more than it said it can hold (`capacity`, 0 when it did
 * not say). The last worker takes what is left, and then meets EMFILE for real (a tiny
 * --fds-per-worker).
 */
export function quotaFor(plan: Plan, assigned: number, index: number, capacity: number): number {
  const remaining = Math.max(0, plan.connections - assigned);
  if (index >= plan.workers - 1) return remaining;
  return Math.min(remaining, plan.perWorker, capacity > 0 ? capacity : plan.perWorker);
}

/**
 * Whether an 'auto' run should start more workers: the connections held so far and the memory
 * free for sockets above the floor, at the cost per connection measured so far (how far the
 * memory free for sockets fell since the run began, workers included, divided by the
 * connections held), allow more than have been given out. Before COST_MEASURED_AFTER
 * connections the cost is not yet known: yes.
 */
export function fitsMore(m: {
  established: number;
  assigned: number;
  costBytes: number;
  freeBytes: number;
  floorBytes: number;
}): boolean {
  if (m.established < COST_MEASURED_AFTER || m.costBytes <= 0) return true;
  const fits = m.established + Math.max(0, m.freeBytes - m.floorBytes) / m.costBytes;
  return m.assigned < fits;
}

/** What the machine offers at the start of a run: the readings a plan is made from. */
export interface Machine {
  nofile: NofileLimit;
  mem: MemSample;
  fileNr: { allocated: number; max: number };
  /** this process may open files beyond fs.file-max (CAP_SYS_ADMIN, initial user namespace) */
  fileMaxExempt: boolean;
  range: PortRange;
  cores: number;
  /** /proc inodes at the start (readProcInodes) */
  procInodes?: { count: number; bytesEach: number };
  /** free page reporting's order, when the kernel hands freed memory back to its hypervisor */
  pageReportingOrder?: number;
}

/** The machine's limits as a result reports them. */
export function machineLimits(machine: Machine): MaxResult['limits'] {
  return {
    nofileSoft: machine.nofile.soft,
    nofileHard: machine.nofile.hard,
    fileMax: machine.fileNr.max,
    ephemeralPorts: machine.range.size,
    memTotalBytes: machine.mem.totalBytes,
    memAvailableBytes: machine.mem.availableBytes,
    cores: machine.cores,
    ...(machine.pageReportingOrder !== undefined
      ? { pageReportingOrder: machine.pageReportingOrder }
      : {}),
  };
}

function fileMaxExempt(): boolean {
  try {
    const mask = parseCapEff(readFileSync('/proc/self/status', 'utf8'));
    return (
      mask !== undefined &&
      hasCapability(mask, CAP_SYS_ADMIN) &&
      isInitialUserNamespace(readFileSync('/proc/self/uid_map', 'utf8'))
    );
  } catch {
    return false;
  }
}

export function readMachine(): Machine {
  return {
    nofile: getNofileLimit(),
    mem: readMem(),
    fileNr: readFileNr(),
    fileMaxExempt: fileMaxExempt(),
    range: ephemeralPortRange(),
    cores: availableParallelism(),
    procInodes: readProcInodes(),
    pageReportingOrder: readPageReportingOrder(),
  };
}

/**
 * The target policy for `max`: loopback only; with allowRemote, a remote run
 * must name its size and its rate, so it can never be an unbounded flood.
 */
export function checkMaxTargets(options: MaxOptions): void {
  const addresses = (options.targets ?? []).map((d) => d.host);
  assertTargetsAllowed(addresses, { allowRemote: options.allowRemote ?? false });
  if (!anyRemote(addresses)) return;
  if (options.connections === 'auto') {
    throw new UsageError(
      '--connections must be a number from 1 to 10000000 when a target is remote (auto is for loopback)',
      'connections',
    );
  }
  if (!options.rate) {
    throw new UsageError(
      '--rate is required when a target is remote (connects per second, 1 to 10000000)',
      'rate',
    );
  }
}

/**
 * Reads what this kernel and this process allow: rlimits, capabilities, sysctls, memory and the
 * sockets in use now. Every figure says where it came from; a figure that cannot be read is
 * "unknown" with the reason, never a guess.
 */

import { accessSync, closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { readOwnCgroupMemory } from './cgroup.js';
import {
  CAP_SYS_ADMIN,
  CAP_SYS_RESOURCE,
  type FileNr,
  hasCapability,
  isInitialUserNamespace,
  memoryFreeForSockets,
  type PortRange,
  parseCapEff,
  parseFileNr,
  parseIntegers,
  parseLowWatermarkBytes,
  parseMeminfo,
  parsePortRange,
  parseProcLimits,
  parseReservedPorts,
  parseSockstat,
  type ReservedPorts,
  type Rlimit,
  type Sockstat,
} from './procfs.js';

/** A value read from the kernel, or "unknown" with the reason. `source` is the file read. */
export type Reading<T> =
  | { value: T; source: string }
  | { value: 'unknown'; reason: string; source: string };

/** The value of a reading, or undefined when it is unknown. */
export function known<T>(r: Reading<T>): T | undefined {
  return 'reason' in r ? undefined : (r.value as T);
}

export interface Capabilities {
  /** CAP_SYS_RESOURCE: may raise its own hard limits (RLIMIT_NOFILE beyond the hard limit) */
  sysResource: boolean;
  /** CAP_SYS_ADMIN: may open files beyond fs.file-max (only in the initial user namespace) */
  sysAdmin: boolean;
  /** true when this process is in the initial user namespace, where capabilities are global */
  initialUserNamespace: boolean;
  /** CapEff as hex */
  effective: string;
}

export interface Triple {
  min: number;
  default: number;
  max: number;
}

export interface TcpMem {
  /** pages: below this TCP does not regulate buffer memory */
  low: number;
  /** pages: above this TCP enters memory pressure and shrinks buffers */
  pressure: number;
  /** pages: TCP refuses to allocate buffer memory beyond this */
  high: number;
  /** bytes per page */
  pageSize: number;
}

export interface MemoryInfo {
  totalBytes: number;
  /** memory free for sockets: MemAvailable less the reclaimable slab live sockets pin */
  availableBytes: number;
  /** /proc/meminfo's MemAvailable as the kernel reports it */
  memAvailableBytes: number;
  /** kernel slab allocations (socket structures live here) */
  slabBytes: number;
}

export interface CgroupMemory {
  /** the memory cgroup's limit, 'unlimited' when none */
  limitBytes: number | 'unlimited';
  usageBytes: number;
}

export interface Conntrack {
  max: number;
  count: number;
}

/** Everything `fourtuple limits` reads, one reading per figure. */
export interface LimitsReading {
  pid: number;
  /** RLIMIT_NOFILE: descriptors this process may hold (soft applies, hard is its ceiling) */
  nofile: Reading<Rlimit>;
  /** RLIMIT_NPROC: processes this user may run */
  nproc: Reading<Rlimit>;
  capabilities: Reading<Capabilities>;
  /** fs.nr_open: the largest RLIMIT_NOFILE anyone may set */
  nrOpen: Reading<number>;
  /** fs.file-max: open files system-wide */
  fileMax: Reading<bigint>;
  /** fs.file-nr: open files now */
  fileNr: Reading<FileNr>;
  portRange: Reading<PortRange>;
  reservedPorts: Reading<ReservedPorts>;
  somaxconn: Reading<number>;
  tcpMaxSynBacklog: Reading<number>;
  tcpMem: Reading<TcpMem>;
  tcpRmem: Reading<Triple>;
  tcpWmem: Reading<Triple>;
  tcpTwReuse: Reading<number>;
  tcpFinTimeout: Reading<number>;
  /** present only when the nf_conntrack module is loaded */
  conntrack: Reading<Conntrack>;
  memory: Reading<MemoryInfo>;
  cgroupMemory: Reading<CgroupMemory>;
  cores: number;
  sockstat: Reading<Sockstat>;
  /**
   * for each /proc/sys file read above (by path), whether this process may write it now:
   * sysctlWritable(path)
   */
  writableSysctls: Record<string, boolean>;
}

export interface ReadOptions {
  /** prefix for /proc and /sys (tests point it at a directory of sample files); default '' */
  root?: string;
}

type Text = { text: string } | { reason: string };

function describeError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'not present on this kernel';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? (err instanceof Error ? err.message : String(err));
}

function readText(path: string): Text {
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (err) {
    return { reason: `${path}: ${describeError(err)}` };
  }
}

/** Reads a file and parses it; "unknown" with the reason when either step fails. */
function reading<T>(path: string, parse: (text: string) => T | undefined): Reading<T> {
  const t = readText(path);
  if ('reason' in t) return { value: 'unknown', reason: t.reason, source: path };
  const v = parse(t.text);
  if (v === undefined) {
    return {
      value: 'unknown',
      reason: `${path}: unexpected contents "${t.text.trim().slice(0, 60)}"`,
      source: path,
    };
  }
  return { value: v, source: path };
}

function integer(text: string): number | undefined {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** The kernel's page size, from the first mapping in /proc/self/smaps (4096 when unreadable). */
export function pageSize(root = ''): number {
  let fd: number | undefined;
  try {
    fd = openSync(`${root}/proc/self/smaps`, 'r');
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const m = /KernelPageSize:\s+(\d+) kB/.exec(buf.subarray(0, n).toString('utf8'));
    return m ? Number(m[1]) * 1024 : 4096;
  } catch {
    return 4096;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Whether this process may write the sysctl at `path` (a /proc/sys file) now. access(2) asks
 * the kernel, which answers for this sysctl and this process: the file's own mode (read-only
 * sysctls such as fs.file-nr are 0444, refused even to root), the namespace that owns it
 * (net.* sysctls belong to the network namespace, writable by root of the user namespace that
 * owns it, as in a container; fs.* only by root of the initial one), and a /proc/sys mounted
 * read-only. False when the file does not exist.
 */
export function sysctlWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Reads /proc/net/sockstat now (the measurement and the tests read it before and after). */
export function readSockstat(root = ''): Reading<Sockstat> {
  return reading(`${root}/proc/net/sockstat`, parseSockstat);
}

/**
 * Reads MemTotal, Slab and the memory free for sockets (MemAvailable less the reclaimable slab
 * it counts: `memoryFreeForSockets`) from /proc/meminfo and /proc/zoneinfo.
 */
export function readMemory(root = ''): Reading<MemoryInfo> {
  const zones = readText(`${root}/proc/zoneinfo`);
  // without zoneinfo, count no watermark: all reclaimable slab is then taken as pinned
  const low = 'text' in zones ? parseLowWatermarkBytes(zones.text) : 0;
  return reading(`${root}/proc/meminfo`, (t) => {
    const m = parseMeminfo(t);
    const available = memoryFreeForSockets(m, low);
    if (m.MemTotal === undefined || available === undefined || m.Slab === undefined) {
      return undefined;
    }
    return {
      totalBytes: m.MemTotal,
      availableBytes: available,
      memAvailableBytes: m.MemAvailable!,
      slabBytes: m.Slab,
    };
  });
}

/**
 * The memory cgroup of this process (v1 or v2; its own and its ancestors', never the top-level
 * files, which are the root cgroup's and unlimited): see cgroup.ts.
 */
function readCgroupMemory(root: string): Reading<CgroupMemory> {
  const own = readOwnCgroupMemory(root);
  const source = `${root}/proc/self/cgroup`;
  if (!own) return { value: 'unknown', reason: `${source}: no memory cgroup found`, source };
  return {
    value: { limitBytes: own.limitBytes, usageBytes: own.usageBytes },
    source: own.dir,
  };
}

/** Reads every limit `fourtuple limits` reports. Never throws: unreadable figures are unknown. */
export function readLimits(options: ReadOptions = {}): LimitsReading {
  const root = options.root ?? '';
  const sys = (name: string): string => `${root}/proc/sys/${name}`;
  const limitsPath = `${root}/proc/self/limits`;
  const rlimit = (label: string): Reading<Rlimit> =>
    reading(limitsPath, (t) => parseProcLimits(t)[label]);
  const portRange = reading(sys('net/ipv4/ip_local_port_range'), (t) =>
    parsePortRange(t, sys('net/ipv4/ip_local_port_range')),
  );
  const range = known(portRange);
  const triple = (name: string): Reading<Triple> =>
    reading(sys(name), (t) => {
      const v = parseIntegers(t, 3);
      return v ? { min: v[0]!, default: v[1]!, max: v[2]! } : undefined;
    });
  const page = pageSize(root);

  const conntrackMax = reading(sys('net/netfilter/nf_conntrack_max'), integer);
  const conntrackCount = reading(sys('net/netfilter/nf_conntrack_count'), integer);
  const conntrack: Reading<Conntrack> =
    'reason' in conntrackMax
      ? {
          value: 'unknown',
          reason: `${conntrackMax.reason} (conntrack not loaded: connections are not tracked)`,
          source: conntrackMax.source,
        }
      : {
          value: { max: conntrackMax.value, count: known(conntrackCount) ?? 0 },
          source: conntrackMax.source,
        };

  const uidMap = readText(`${root}/proc/self/uid_map`);
  const initialUserNamespace = 'text' in uidMap && isInitialUserNamespace(uidMap.text);

  const found: Omit<LimitsReading, 'writableSysctls'> = {
    pid: process.pid,
    nofile: rlimit('Max open files'),
    nproc: rlimit('Max processes'),
    capabilities: reading(`${root}/proc/self/status`, (t) => {
      const mask = parseCapEff(t);
      if (mask === undefined) return undefined;
      return {
        sysResource: hasCapability(mask, CAP_SYS_RESOURCE),
        sysAdmin: hasCapability(mask, CAP_SYS_ADMIN),
        initialUserNamespace,
        effective: mask.toString(16).padStart(16, '0'),
      };
    }),
    nrOpen: reading(sys('fs/nr_open'), integer),
    fileMax: reading(sys('fs/file-max'), (t) =>
      /^\d+$/.test(t.trim()) ? BigInt(t.trim()) : undefined,
    ),
    fileNr: reading(sys('fs/file-nr'), parseFileNr),
    portRange,
    reservedPorts: reading(sys('net/ipv4/ip_local_reserved_ports'), (t) =>
      parseReservedPorts(t, range ?? { low: 0, high: 65535 }),
    ),
    somaxconn: reading(sys('net/core/somaxconn'), integer),
    tcpMaxSynBacklog: reading(sys('net/ipv4/tcp_max_syn_backlog'), integer),
    tcpMem: reading(sys('net/ipv4/tcp_mem'), (t) => {
      const v = parseIntegers(t, 3);
      return v ? { low: v[0]!, pressure: v[1]!, high: v[2]!, pageSize: page } : undefined;
    }),
    tcpRmem: triple('net/ipv4/tcp_rmem'),
    tcpWmem: triple('net/ipv4/tcp_wmem'),
    tcpTwReuse: reading(sys('net/ipv4/tcp_tw_reuse'), integer),
    tcpFinTimeout: reading(sys('net/ipv4/tcp_fin_timeout'), integer),
    conntrack,
    memory: readMemory(root),
    cgroupMemory: readCgroupMemory(root),
    cores: availableParallelism(),
    sockstat: readSockstat(root),
  };
  return { ...found, writableSysctls: writableSysctls(found, sys('')) };
}

/** sysctlWritable for every reading whose source is under `prefix` (/proc/sys/), by path. */
function writableSysctls(readings: object, prefix: string): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const r of Object.values(readings)) {
    const source = (r as { source?: unknown }).source;
    if (typeof source === 'string' && source.startsWith(prefix)) {
      out[source] = sysctlWritable(source);
    }
  }
  return out;
}

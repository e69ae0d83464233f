/** Small /proc readers the coordinator samples every second: memory, sockets, process sizes. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { FourtupleError } from '../errors.js';
import { readOwnCgroupMemory } from '../limits/cgroup.js';
import {
  type CpuTimes,
  memoryFreeForSockets,
  parseLowWatermarkBytes,
  parseMeminfo,
  parseProcStatCpu,
  parseSmapsRollup,
  parseSockstat,
  readFileNr as readFileNrExact,
  type Sockstat,
} from '../limits/procfs.js';

export interface MemSample {
  /**
   * Memory free for sockets: MemAvailable less the reclaimable slab it counts (which live
   * sockets pin: `memoryFreeForSockets`), or what this process's memory cgroup still allows
   * when that is less. The memory guard and the plan read this.
   */
  availableBytes: number;
  /** MemTotal, or the cgroup's limit when that is less */
  totalBytes: number;
  slabBytes: number;
  /** the cgroup directory whose limit binds, when a cgroup (not the machine) is the bound */
  cgroup: string | undefined;
}

/** the zones' low watermarks: fixed while the machine runs, read once */
let lowWatermark: number | undefined;

/**
 * Memory as the guard must see it. MemAvailable counts reclaimable slab that live sockets pin,
 * so the machine's figure is MemAvailable less that slab. Inside a container or a memory cgroup
 * the limit that OOM-kills the run is the cgroup's (which charges socket slab too, SLAB_ACCOUNT),
 * so the lower of the two is what is available.
 */
export function readMem(): MemSample {
  const m = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
  lowWatermark ??= readLowWatermark();
  const machine = {
    available: memoryFreeForSockets(m, lowWatermark) ?? 0,
    total: m.MemTotal ?? 0,
  };
  const cg = readOwnCgroupMemory();
  const bound =
    cg?.availableBytes !== undefined &&
    typeof cg.limitBytes === 'number' &&
    cg.availableBytes < machine.available;
  return {
    availableBytes: bound ? cg.availableBytes! : machine.available,
    totalBytes: bound ? Math.min(machine.total, cg.limitBytes as number) : machine.total,
    slabBytes: m.Slab ?? 0,
    cgroup: bound ? cg.dir : undefined,
  };
}

function readLowWatermark(): number {
  try {
    return parseLowWatermarkBytes(readFileSync('/proc/zoneinfo', 'utf8'));
  } catch {
    return 0; // no zoneinfo: all reclaimable slab is taken as pinned
  }
}

/**
 * A process's CPU time in ms (user + system, every thread), to the microsecond: the sum of its
 * threads' time on a CPU from /proc/PID/task/TID/schedstat (ns). /proc/PID/stat counts in 10 ms
 * ticks, so 200 plain accepts (about 4 ms of CPU) read as 0 or 10 ms there; that is the fallback
 * when schedstat is missing. 0 when the process is gone.
 */
export function readProcCpuMs(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    if (Number.isFinite(ns) && ns > 0) return ns / 1e6;
  } catch {
    // no schedstat (or the process is gone): the ticks below
  }
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state is field 3, utime 14 and stime 15 (1-based, man 5 proc), in
    // USER_HZ ticks (100 a second on every Linux build)
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** The machine's CPU time since boot (/proc/stat); undefined when it cannot be read. */
export function readCpuTimes(): CpuTimes | undefined {
  try {
    return parseProcStatCpu(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The order of free page reporting (virtio-balloon) when the kernel has it: freed blocks of
 * 2^order pages are handed back to the hypervisor, and memory touched again after that costs
 * a page fault on the host. undefined when the module is not there.
 */
export function readPageReportingOrder(): number | undefined {
  try {
    const order = Number(
      readFileSync('/sys/module/page_reporting/parameters/page_reporting_order', 'utf8'),
    );
    return Number.isInteger(order) ? order : undefined;
  } catch {
    return undefined;
  }
}

export function readSockstatNow(): Sockstat {
  const s = parseSockstat(readFileSync('/proc/net/sockstat', 'utf8'));
  if (!s) {
    throw new FourtupleError('FOURTUPLE_MEASURE_UNREADABLE', 'cannot read /proc/net/sockstat');
  }
  return s;
}

export interface ProcSize {
  rssBytes: number;
  /** proportional set size: shared pages (the node binary) divided among their users */
  pssBytes: number;
  /** anonymous pages (the process's own), when the kernel reports them */
  anonBytes?: number;
}

/** RSS and PSS of one process from /proc/PID/smaps_rollup (zeros when it is gone). */
export function readProcSize(pid: number): ProcSize {
  try {
    return (
      parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')) ?? {
        rssBytes: 0,
        pssBytes: 0,
      }
    );
  } catch {
    return { rssBytes: 0, pssBytes: 0 };
  }
}

/**
 * RSS of one process from /proc/PID/statm (0 when it is gone): the kernel's counters, O(1).
 * smaps_rollup walks every page table entry of the process: read for each of a hundred
 * workers four times a second, that walk cost as much CPU as the connections (it is kept
 * for the one PSS reading at the peak).
 */
export function readProcRss(pid: number): number {
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return Number.isFinite(pages) ? pages * 4096 : 0; // 4 KiB pages (x86-64)
  } catch {
    return 0;
  }
}

/** fs.file-max and fs.file-nr (allocated) */
export function readFileNr(): { allocated: number; max: number } {
  const f = readFileNrExact();
  return { allocated: Number(f?.allocated ?? 0n), max: Number(f?.max ?? 0n) };
}

/** One TCP socket as /proc/net/tcp{,6} lists it: ports and the remote address, and its state. */
export interface TcpEntry {
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** the kernel's state number: 01 ESTABLISHED, 06 TIME_WAIT, 0A LISTEN, ... */
  state: number;
  /** the socket's inode; 0 when no process holds it (TIME_WAIT, an orphan closing) */
  inode: number;
}

/** An address from /proc/net/tcp (hex, in host byte order per 32-bit word) in its usual form. */
function procAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)]);
  if (bytes.length === 4) return bytes.map((b) => Number.parseInt(b, 16)).join('.');
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) is shown as the IPv4 address it carries
  if (hex.startsWith('0000000000000000FFFF0000')) return procAddress(hex.slice(24));
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(`${bytes[i]}${bytes[i + 1]}`.replace(/^0+(?=.)/, ''));
  return groups.join(':').toLowerCase();
}

/** Parses /proc/net/tcp or tcp6 text. */
export function parseProcNetTcp(text: string): TcpEntry[] {
  const out: TcpEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const [, local, remote, st] = f as [string, string, string, string];
    const inode = Number(f[9] ?? 0);
    const [, lport] = local.split(':');
    const [raddr, rport] = remote.split(':');
    if (lport === undefined || raddr === undefined || rport === undefined) continue;
    out.push({
      localPort: Number.parseInt(lport, 16),
      remoteAddress: procAddress(raddr),
      remotePort: Number.parseInt(rport, 16),
      state: Number.parseInt(st, 16),
      inode: Number.isFinite(inode) ? inode : 0,
    });
  }
  return out;
}

/** Every TCP socket of this network namespace that is not listening, IPv4 and IPv6. */
export function readTcpEntries(): TcpEntry[] {
  const out: TcpEntry[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6
    }
    for (const e of parseProcNetTcp(text)) if (e.state !== 0x0a) out.push(e);
  }
  return out;
}

/**
 * Of `entries`, those left of the run, read once every process of the run has exited: sockets
 * with an end on one of its listeners' ports (both ends on this machine) or connected to one of
 * its targets, in any state but LISTEN (TIME_WAIT included), that no process holds (inode 0:
 * what a closed socket leaves in the kernel). A live socket there is another program's: once
 * the run's listeners are closed, the kernel hands their ports out again as source ports,
 * within milliseconds on a busy machine.
 */
export function countOwn(
  entries: readonly TcpEntry[],
  listenPorts: readonly number[],
  targets: readonly { host: string; port: number }[],
): number {
  const ports = new Set(listenPorts);
  const dest = new Set(targets.map((t) => `${t.host}|${t.port}`));
  let n = 0;
  for (const e of entries) {
    if (e.inode !== 0) continue;
    if (
      ports.has(e.localPort) ||
      ports.has(e.remotePort) ||
      dest.has(`${e.remoteAddress}|${e.remotePort}`)
    ) {
      n++;
    }
  }
  return n;
}

/**
 * The same count as ownSocketsLeft, asked of the kernel with a filter (`ss`: the kernel
 * matches the ports, so the other programs' sockets are never copied out): 0.36 s beside
 * 400,000 other sockets, where reading /proc/net/tcp took 0.85 s before any parsing.
 * Undefined when ss is missing or fails.
 */
export function ownSocketsLeftFiltered(
  listenPorts: readonly number[],
  targets: readonly { host: string; port: number }[],
): number | undefined {
  const terms = [
    ...listenPorts.map((p) => `sport = :${p} or dport = :${p}`),
    ...targets.map((t) => `dst ${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`),
  ];
  if (terms.length === 0) return 0;
  try {
    const out = execFileSync('ss', ['-Htane', `( ${terms.join(' or ')} )`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
      maxBuffer: 256 * 1024 ** 2,
    });
    let n = 0;
    for (const line of out.split('\n')) {
      if (line.trim() === '' || line.startsWith('LISTEN')) continue;
      // a socket no process holds has no inode (TIME_WAIT) or inode 0
      if (!/\bino:[1-9]/.test(line)) n++;
    }
    return n;
  } catch {
    return undefined;
  }
}

/** The run's own sockets still in the kernel's tables now (countOwn of readTcpEntries). */
export function ownSocketsLeft(
  listenPorts: readonly number[],
  targets: readonly { host: string; port: number }[],
): number {
  return countOwn(readTcpEntries(), listenPorts, targets);
}

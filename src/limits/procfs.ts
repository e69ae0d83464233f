/**
 * Reading kernel settings from /proc. Every reader returns where its figure came from, so a
 * user can check it by hand (`sysctl -n net.ipv4.ip_local_port_range`).
 */
import { fstatSync, lstatSync, readFileSync } from 'node:fs';
import { libc } from '../sockets/libc.js';
import { constants } from '../sockets/platform.js';

/** The sysctl name for a /proc/sys path: /proc/sys/net/ipv4/x -> net.ipv4.x */
export function sysctlName(path: string): string {
  return path.replace(/^\/proc\/sys\//, '').replaceAll('/', '.');
}

/** A /proc/sys file's trimmed text, or undefined when it does not exist or cannot be read. */
export function readProcText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export interface PortRange {
  low: number;
  high: number;
  /** ports in the range, high - low + 1 */
  size: number;
  /** where the figure came from: a /proc path, or 'IANA default (RFC 6335)' */
  source: string;
}

export const EPHEMERAL_RANGE_PATH = '/proc/sys/net/ipv4/ip_local_port_range';

/** The IANA dynamic port range, used when the kernel's cannot be read. */
export const IANA_EPHEMERAL: Readonly<PortRange> = {
  low: 49152,
  high: 65535,
  size: 65535 - 49152 + 1,
  source: 'IANA default (RFC 6335)',
};

/** Parses "32768\t60999" into a range; undefined when malformed. */
export function parsePortRange(text: string, source: string): PortRange | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const low = Number(m[1]);
  const high = Number(m[2]);
  if (!(low >= 1 && high <= 65535 && low <= high)) return undefined;
  return { low, high, size: high - low + 1, source };
}

/** This machine's ephemeral (local) port range, or the IANA default when it cannot be read. */
export function ephemeralPortRange(path = EPHEMERAL_RANGE_PATH): PortRange {
  const text = readProcText(path);
  return (text !== undefined && parsePortRange(text, path)) || { ...IANA_EPHEMERAL };
}

/** A resource limit as /proc/self/limits shows it: a count, or unlimited. */
export type LimitValue = number | 'unlimited';

export interface Rlimit {
  soft: LimitValue;
  hard: LimitValue;
}

/**
 * Parses /proc/PID/limits into rlimits keyed by their label ("Max open files",
 * "Max processes", ...). Lines that do not parse are skipped.
 */
export function parseProcLimits(text: string): Record<string, Rlimit> {
  const out: Record<string, Rlimit> = {};
  const value = (s: string): LimitValue | undefined =>
    s === 'unlimited' ? 'unlimited' : /^\d+$/.test(s) ? Number(s) : undefined;
  for (const line of text.split('\n')) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const soft = value(m[2]!);
    const hard = value(m[3]!);
    if (soft !== undefined && hard !== undefined) out[m[1]!] = { soft, hard };
  }
  return out;
}

/** Linux capability numbers fourtuple cares about (include/uapi/linux/capability.h). */
export const CAP_SYS_ADMIN = 21;
export const CAP_SYS_RESOURCE = 24;

/** The effective capability mask from /proc/PID/status ("CapEff:\t000001fffeffffff"). */
export function parseCapEff(statusText: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/** Whether capability number `cap` is set in a mask. */
export function hasCapability(mask: bigint, cap: number): boolean {
  return ((mask >> BigInt(cap)) & 1n) === 1n;
}

/** Whether a /proc/PID/uid_map is the initial user namespace's (the identity map of all uids). */
export function isInitialUserNamespace(uidMapText: string): boolean {
  return /^\s*0\s+0\s+4294967295\s*$/.test(uidMapText.trim());
}

/** Parses /proc/meminfo into bytes per field ("MemAvailable: 123 kB" -> 125952). */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([\w()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1);
  }
  return out;
}

/**
 * The zones' low watermarks summed, in bytes, from /proc/zoneinfo ("        low      22748",
 * pages, once per zone); 0 when none is found. The kernel keeps this much free for itself.
 */
export function parseLowWatermarkBytes(zoneinfo: string, pageSize = 4096): number {
  let pages = 0;
  for (const m of zoneinfo.matchAll(/^\s+low\s+(\d+)\s*$/gm)) pages += Number(m[1]);
  return pages * pageSize;
}

/**
 * Memory that sockets can still take, in bytes: MemAvailable less the reclaimable slab it
 * counts. The kernel's MemAvailable adds SReclaimable minus min(SReclaimable / 2, the low
 * watermark) as if it could be freed, but sock_inode_cache and dentries of live sockets are
 * pinned by the sockets themselves: near the memory wall, MemAvailable overstates what is
 * free by that much (about 7 GB of a 12 GB slab growth at 1.1M connections), and a guard on it
 * walks into the OOM killer. What is left counts free pages and the page cache the kernel can
 * drop, as MemAvailable does. Undefined when MemAvailable is missing.
 */
export function memoryFreeForSockets(
  meminfo: Record<string, number>,
  lowWatermarkBytes: number,
): number | undefined {
  const available = meminfo.MemAvailable;
  if (available === undefined) return undefined;
  const reclaimable = meminfo.SReclaimable ?? 0;
  const counted = reclaimable - Math.min(reclaimable / 2, lowWatermarkBytes);
  return Math.max(0, Math.round(available - counted));
}

export interface Sockstat {
  /** all sockets of every kind ("sockets: used N") */
  socketsUsed: number;
  /** TCP sockets in use (not TIME_WAIT) */
  tcpInuse: number;
  tcpOrphan: number;
  /** TCP sockets in TIME_WAIT */
  tcpTimeWait: number;
  tcpAlloc: number;
  /** pages of TCP socket buffer memory (compared with net.ipv4.tcp_mem) */
  tcpMemPages: number;
}

/**
 * The machine's CPU time since boot, in ms, from the first line of /proc/stat (every CPU
 * summed; the kernel counts in USER_HZ, 100 a second on Linux whatever HZ it was built with).
 * user: user + nice; kernel: system + irq + softirq (the packets of loopback connections are
 * processed in softirq); idle: idle + iowait; steal: time the hypervisor ran something else
 * while a virtual CPU wanted to run.
 */
export interface CpuTimes {
  userMs: number;
  kernelMs: number;
  idleMs: number;
  stealMs: number;
}

/** Parses /proc/stat's `cpu` line; undefined when it is missing or malformed. */
export function parseProcStatCpu(text: string): CpuTimes | undefined {
  const line = /^cpu\s+([\d\s]+)$/m.exec(text)?.[1];
  const f = line?.trim().split(/\s+/).map(Number) ?? [];
  if (f.length < 7 || f.some((x) => !Number.isFinite(x))) return undefined;
  const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = f as number[];
  const ms = (ticks: number): number => ticks * 10; // USER_HZ = 100
  return {
    userMs: ms(user! + nice!),
    kernelMs: ms(system! + irq! + softirq!),
    idleMs: ms(idle! + iowait!),
    stealMs: ms(steal),
  };
}

/** Parses /proc/net/sockstat; undefined when the TCP line is missing. */
export function parseSockstat(text: string): Sockstat | undefined {
  const used = /^sockets:\s+used\s+(\d+)/m.exec(text);
  const tcp = /^TCP:(.*)$/m.exec(text);
  if (!tcp) return undefined;
  const field = (name: string): number => {
    const m = new RegExp(`\\b${name}\\s+(\\d+)`).exec(tcp[1]!);
    return m ? Number(m[1]) : 0;
  };
  return {
    socketsUsed: used ? Number(used[1]) : 0,
    tcpInuse: field('inuse'),
    tcpOrphan: field('orphan'),
    tcpTimeWait: field('tw'),
    tcpAlloc: field('alloc'),
    tcpMemPages: field('mem'),
  };
}

/** Parses whitespace-separated integers ("4096\t131072\t6291456"); undefined when malformed. */
export function parseIntegers(text: string, count: number): number[] | undefined {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== count || !parts.every((p) => /^\d+$/.test(p))) return undefined;
  return parts.map(Number);
}

export interface ReservedPorts {
  /** the sysctl's text, "" when none are reserved */
  text: string;
  /** ports reserved in total */
  total: number;
  /** of those, the ones inside the ephemeral range (only these reduce it) */
  inRange: number;
}

/**
 * Parses net.ipv4.ip_local_reserved_ports ("8080,9000-9010") and counts how many reserved
 * ports fall inside `range`. Undefined when malformed.
 */
export function parseReservedPorts(
  text: string,
  range: { low: number; high: number },
): ReservedPorts | undefined {
  const t = text.trim();
  const ports = new Set<number>();
  if (t !== '') {
    for (const part of t.split(',')) {
      const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
      if (!m) return undefined;
      const a = Number(m[1]);
      const b = m[2] === undefined ? a : Number(m[2]);
      if (!(a >= 0 && b <= 65535 && a <= b)) return undefined;
      for (let p = a; p <= b; p++) ports.add(p);
    }
  }
  let inRange = 0;
  for (const p of ports) if (p >= range.low && p <= range.high) inRange++;
  return { text: t, total: ports.size, inRange };
}

export interface FileNr {
  /** file handles allocated (in use) */
  allocated: bigint;
  /** allocated but unused (always 0 since Linux 2.6) */
  free: bigint;
  /** the maximum, same as fs.file-max */
  max: bigint;
}

/** Parses /proc/sys/fs/file-nr ("415\t0\t2466170"); file-max may exceed 2^53, hence BigInt. */
export function parseFileNr(text: string): FileNr | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  return { allocated: BigInt(m[1]!), free: BigInt(m[2]!), max: BigInt(m[3]!) };
}

export const FILE_NR_PATH = '/proc/sys/fs/file-nr';

/** Reads fs.file-nr now; undefined when it cannot be read or parsed. */
export function readFileNr(path = FILE_NR_PATH): FileNr | undefined {
  const text = readProcText(path);
  return text === undefined ? undefined : parseFileNr(text);
}

export interface SlabCache {
  /** objects in use */
  active: number;
  /** bytes of slab pages per object when every slab is full: pages x 4096 / objects per slab */
  bytesPerObject: number;
}

/**
 * Parses /proc/slabinfo (version 2.1: name, active_objs, num_objs, objsize, objperslab,
 * pagesperslab, ...) into each cache's objects in use and what an object costs in slab pages.
 */
export function parseSlabinfo(text: string): Map<string, SlabCache> {
  const out = new Map<string, SlabCache>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || line.startsWith('#') || line.startsWith('slabinfo')) continue;
    const [active, perSlab, pages] = [Number(f[1]), Number(f[4]), Number(f[5])];
    if (!Number.isFinite(active) || !(perSlab > 0) || !(pages > 0)) continue;
    out.set(f[0]!, { active, bytesPerObject: (pages * 4096) / perSlab });
  }
  return out;
}

/**
 * /proc inodes in use now and what one costs with its dentry (slab bytes per object, full
 * slabs): a program that lists every process's descriptors (/proc/PID/fd) makes one of each
 * per descriptor it lists. Undefined when /proc/slabinfo is unreadable (not root).
 */
export function readProcInodes(): { count: number; bytesEach: number } | undefined {
  const text = readProcText('/proc/slabinfo');
  const caches = text === undefined ? undefined : parseSlabinfo(text);
  const proc = caches?.get('proc_inode_cache');
  if (!caches || !proc) return undefined;
  return {
    count: proc.active,
    bytesEach: proc.bytesPerObject + (caches.get('dentry')?.bytesPerObject ?? 0),
  };
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;

/** A new inode number from the kernel's get_next_ino(): a socket's, made and closed at once. */
function freshInode(): bigint | undefined {
  const c = libc();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | constants().SOCK_CLOEXEC, 0);
  if (fd < 0) return undefined;
  try {
    return fstatSync(fd, { bigint: true }).ino;
  } finally {
    c.close(fd);
  }
}

/**
 * Whether a program had looked up /proc/PID/fd/FD before this call: the mark a program that
 * lists every process's descriptors leaves (the entry, a /proc inode and a dentry, stays while
 * the descriptor lives). Looking it up makes it when no one had, numbered by get_next_ino(),
 * which counts up per CPU: its number then falls between those of two sockets made just before
 * and just after on the same CPU. An entry made earlier has an older number, or one from another
 * CPU's batch. One look answers once: after it the entry exists, so a caller asks of each entry
 * at most once, and of descriptors its own process never listed (`openDescriptors` counts in
 * fdinfo for that reason). Undefined when the descriptor is not open or no socket could be made.
 * A preemption between the three calls can make a fresh entry look old: ask of several.
 */
export function fdEntryListed(pid: number, fd: number): boolean | undefined {
  const before = freshInode();
  let ino: bigint;
  try {
    ino = lstatSync(`/proc/${pid}/fd/${fd}`, { bigint: true }).ino;
  } catch {
    return undefined;
  }
  const after = freshInode();
  if (before === undefined || after === undefined) return undefined;
  return !(ino > before && ino < after);
}

export interface ProcessSize {
  rssBytes: number;
  /** proportional set size: shared pages (the node binary) divided among their users */
  pssBytes: number;
  /**
   * anonymous pages (heap, stacks): the process's own, which a second process like it cannot
   * share (the node binary's file pages it can); absent when the kernel does not report it
   */
  anonBytes?: number;
}

/** Parses Rss, Pss and Anonymous from /proc/PID/smaps_rollup; undefined when Rss or Pss is missing. */
export function parseSmapsRollup(text: string): ProcessSize | undefined {
  const rss = /^Rss:\s+(\d+) kB/m.exec(text);
  const pss = /^Pss:\s+(\d+) kB/m.exec(text);
  if (!rss || !pss) return undefined;
  const anon = /^Anonymous:\s+(\d+) kB/m.exec(text);
  return {
    rssBytes: Number(rss[1]) * 1024,
    pssBytes: Number(pss[1]) * 1024,
    ...(anon ? { anonBytes: Number(anon[1]) * 1024 } : {}),
  };
}

export interface TcpSocketLine {
  localPort: number;
  remotePort: number;
  /** the kernel's state number: 01 ESTABLISHED, 06 TIME_WAIT, 0A LISTEN, ... */
  state: number;
}

/** Parses /proc/net/tcp or /proc/net/tcp6 into local port, remote port and state per socket. */
export function parseProcNetTcp(text: string): TcpSocketLine[] {
  const out: TcpSocketLine[] = [];
  for (const line of text.split('\n')) {
    const m =
      /^\s*\d+:\s+[0-9A-Fa-f]+:([0-9A-Fa-f]{4})\s+[0-9A-Fa-f]+:([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]{2})/.exec(
        line,
      );
    if (m) {
      out.push({
        localPort: Number.parseInt(m[1]!, 16),
        remotePort: Number.parseInt(m[2]!, 16),
        state: Number.parseInt(m[3]!, 16),
      });
    }
  }
  return out;
}

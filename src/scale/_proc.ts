/** Small /proc readers the coordinator samples every second: memory, sockets, process sizes. */
import { readFileSync } from 'node:fs';
import { FourtupleError } from '../errors.js';
import { parseMeminfo, parseSockstat, type Sockstat } from '../limits/procfs.js';

export interface MemSample {
  availableBytes: number;
  totalBytes: number;
  slabBytes: number;
}

export function readMem(): MemSample {
  const m = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
  return {
    availableBytes: m.MemAvailable ?? 0,
    totalBytes: m.MemTotal ?? 0,
    slabBytes: m.Slab ?? 0,
  };
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
}

/** RSS and PSS of one process from /proc/PID/smaps_rollup (zeros when it is gone). */
export function readProcSize(pid: number): ProcSize {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const rss = /^Rss:\s+(\d+) kB/m.exec(t);
    const pss = /^Pss:\s+(\d+) kB/m.exec(t);
    return { rssBytes: Number(rss?.[1] ?? 0) * 1024, pssBytes: Number(pss?.[1] ?? 0) * 1024 };
  } catch {
    return { rssBytes: 0, pssBytes: 0 };
  }
}

/** fs.file-max and fs.file-nr (allocated) */
export function readFileNr(): { allocated: number; max: number } {
  try {
    const [a, , m] = readFileSync('/proc/sys/fs/file-nr', 'utf8').trim().split(/\s+/).map(Number);
    return { allocated: a ?? 0, max: m ?? 0 };
  } catch {
    return { allocated: 0, max: 0 };
  }
}

/** Small /proc readers the coordinator samples every second: memory, sockets, process sizes. */
import { readFileSync } from 'node:fs';
import {
  parseMeminfo,
  parseSmapsRollup,
  parseSockstat,
  readFileNr as readFileNrExact,
  type Sockstat,
} from '../limits/procfs.js';

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
  if (!s) throw new Error('cannot read /proc/net/sockstat');
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

/** fs.file-max and fs.file-nr (allocated) */
export function readFileNr(): { allocated: number; max: number } {
  const f = readFileNrExact();
  return { allocated: Number(f?.allocated ?? 0n), max: Number(f?.max ?? 0n) };
}

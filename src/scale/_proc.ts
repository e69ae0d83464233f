/** Small /proc readers the coordinator samples every second: memory, sockets, process sizes. */
import { readFileSync } from 'node:fs';
import { FourtupleError } from '../errors.js';
import { readOwnCgroupMemory } from '../limits/cgroup.js';
import {
  parseMeminfo,
  parseSmapsRollup,
  parseSockstat,
  readFileNr as readFileNrExact,
  type Sockstat,
} from '../limits/procfs.js';

export interface MemSample {
  /** MemAvailable, or what this process's memory cgroup still allows when that is less */
  availableBytes: number;
  /** MemTotal, or the cgroup's limit when that is less */
  totalBytes: number;
  slabBytes: number;
  /** the cgroup directory whose limit binds, when a cgroup (not the machine) is the bound */
  cgroup: string | undefined;
}

/**
 * Memory as the guard must see it. Inside a container or a memory cgroup MemAvailable is the
 * machine's: the limit that OOM-kills the run is the cgroup's (which charges socket slab too,
 * SLAB_ACCOUNT), so the lower of the two is what is available.
 */
export function readMem(): MemSample {
  const m = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
  const machine = { available: m.MemAvailable ?? 0, total: m.MemTotal ?? 0 };
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

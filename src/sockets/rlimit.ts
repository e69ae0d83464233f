/**
 * RLIMIT_NOFILE through libc: read it, and lower this process's soft limit (always permitted;
 * raising the hard limit needs CAP_SYS_RESOURCE). `max --fds-per-worker` uses it to give a
 * worker a real, smaller descriptor budget, so EMFILE is the kernel's answer, not a simulation.
 */
import { readdirSync } from 'node:fs';
import koffi from 'koffi';
import { constants } from './platform.js';
import { lastError } from './socket.js';

const RLIMIT_NOFILE = 7; // Linux, all architectures fourtuple runs on

let fns:
  | {
      getrlimit: (resource: number, out: Buffer) => number;
      setrlimit: (resource: number, value: Buffer) => number;
    }
  | undefined;

function bind(): NonNullable<typeof fns> {
  if (fns) return fns;
  const lib = koffi.load(constants().LIBC);
  fns = {
    getrlimit: lib.func('int getrlimit(int resource, void *rlim)') as never,
    setrlimit: lib.func('int setrlimit(int resource, void *rlim)') as never,
  };
  return fns;
}

export interface NofileLimit {
  soft: number;
  hard: number;
}

/** This process's RLIMIT_NOFILE. */
export function getNofileLimit(): NofileLimit {
  const b = Buffer.alloc(16);
  if (bind().getrlimit(RLIMIT_NOFILE, b) < 0) throw lastError('getrlimit');
  return { soft: Number(b.readBigUInt64LE(0)), hard: Number(b.readBigUInt64LE(8)) };
}

/** Sets this process's soft RLIMIT_NOFILE (at most the hard limit). */
export function setNofileSoftLimit(soft: number): NofileLimit {
  const { hard } = getNofileLimit();
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt(Math.min(soft, hard)), 0);
  b.writeBigUInt64LE(BigInt(hard), 8);
  if (bind().setrlimit(RLIMIT_NOFILE, b) < 0) throw lastError('setrlimit');
  return getNofileLimit();
}

/**
 * Descriptors open in this process now, counted in /proc/self/fdinfo (less the directory's own
 * handle). Not /proc/self/fd: listing that makes a /proc entry for each descriptor, the very
 * mark `limits` reads to tell that a program on the machine lists every process's descriptors
 * (`fdEntryListed`), and this process would find its own. 0 when /proc cannot be read.
 */
export function openDescriptors(): number {
  try {
    return readdirSync('/proc/self/fdinfo').length - 1;
  } catch {
    return 0;
  }
}

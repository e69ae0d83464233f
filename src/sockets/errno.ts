/**
 * errno names, numbers and what they mean for a TCP user. Names and numbers come from Node's
 * os.constants.errno (right for the OS it runs on); the meanings are ours, one line each.
 */
import { constants as osConstants } from 'node:os';

const NUMBERS: Readonly<Record<string, number>> = osConstants.errno as Record<string, number>;
/** Where two names share a number (EAGAIN = EWOULDBLOCK), the first one listed here wins. */
const PREFERRED = ['EAGAIN', 'EOPNOTSUPP', 'EDEADLK'];
const NAMES: ReadonlyMap<number, string> = (() => {
  const m = new Map<number, string>();
  for (const name of [...PREFERRED, ...Object.keys(NUMBERS)]) {
    const n = NUMBERS[name];
    if (n !== undefined && !m.has(n)) m.set(n, name);
  }
  return m;
})();

/** errno names a user meets with TCP sockets (a union type, so a typo does not compile). */
export type ErrnoName =
  | 'EPERM'
  | 'ENOENT'
  | 'EINTR'
  | 'EBADF'
  | 'EAGAIN'
  | 'ENOMEM'
  | 'EACCES'
  | 'EFAULT'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'EINVAL'
  | 'ENFILE'
  | 'EMFILE'
  | 'ENOSPC'
  | 'EROFS'
  | 'EPIPE'
  | 'ENOTSOCK'
  | 'ENOPROTOOPT'
  | 'EPROTONOSUPPORT'
  | 'EOPNOTSUPP'
  | 'EAFNOSUPPORT'
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'ENETDOWN'
  | 'ENETUNREACH'
  | 'ECONNABORTED'
  | 'ECONNRESET'
  | 'ENOBUFS'
  | 'EISCONN'
  | 'ENOTCONN'
  | 'ETIMEDOUT'
  | 'ECONNREFUSED'
  | 'EHOSTUNREACH'
  | 'EALREADY'
  | 'EINPROGRESS';

/** An errno name this module knows, or any other E-name the OS gives (EADDRINUSE, E999). */
export type ErrnoCode = ErrnoName | `E${string}`;

export const ERRNO_MEANING: Readonly<Record<ErrnoName, string>> = {
  EPERM: 'operation not permitted: this process lacks the privilege (a capability or root)',
  ENOENT: 'no such file or directory',
  EINTR: 'the call was interrupted by a signal before it finished',
  EBADF: 'not an open file descriptor',
  EAGAIN: 'nothing ready yet on a non-blocking socket; try again later',
  ENOMEM: 'the kernel could not allocate memory for this socket',
  EACCES: 'permission denied (a port below 1024 without privilege, or a policy refused it)',
  EFAULT: 'a bad address was passed to the kernel',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'the path is a directory',
  EINVAL:
    'invalid argument (for example bind() on a socket that is already bound, or listen() on a connected one)',
  ENFILE: 'the system-wide limit on open files is reached (fs.file-max)',
  EMFILE:
    'this process has as many open descriptors as its limit allows (ulimit -n, RLIMIT_NOFILE)',
  ENOSPC: 'no space left (a kernel table is full)',
  EROFS: 'the file system is read-only',
  EPIPE: 'the peer has closed the connection; writing to it is no longer possible',
  ENOTSOCK: 'the descriptor is not a socket',
  ENOPROTOOPT: 'this socket option is not known at that level on this kernel',
  EPROTONOSUPPORT: 'this protocol is not supported',
  EOPNOTSUPP: 'the operation is not supported on this socket',
  EAFNOSUPPORT: 'this address family (IPv4 or IPv6) is not supported here',
  EADDRINUSE:
    'another socket already holds this local address and port (set SO_REUSEADDR, or SO_REUSEPORT on both)',
  EADDRNOTAVAIL:
    'no such local address, or this 4-tuple is already in use / no ephemeral port is free for this destination',
  ENETDOWN: 'the network is down',
  ENETUNREACH: 'no route to that network from here',
  ECONNABORTED: 'the connection was aborted before it was accepted',
  ECONNRESET: 'the peer reset the connection (it sent an RST)',
  ENOBUFS: 'the kernel ran out of buffer space for sockets',
  EISCONN: 'the socket is already connected',
  ENOTCONN: 'the socket is not connected',
  ETIMEDOUT: 'the peer did not answer in time (the SYN or data was never acknowledged)',
  // Only a closed port answers a SYN with an RST. On Linux a listener whose accept queue is full
  // drops the SYN (ListenOverflows in nstat) and the client retransmits, so a full queue shows
  // as a slow connect or ETIMEDOUT, never as ECONNREFUSED.
  ECONNREFUSED: 'nothing is listening on that address and port (the peer answered with an RST)',
  EHOSTUNREACH: 'no route to that host',
  EALREADY: 'a connect is already in progress on this socket',
  EINPROGRESS: 'the non-blocking connect has started and will finish later',
};

/**
 * What an errno means when it stops a `max` run's ramp (src/scale/engine.ts counts these as
 * walls): the limit the run met, in the run's terms. Other errnos have only ERRNO_MEANING.
 */
export const WALL_MEANING: Readonly<Partial<Record<ErrnoName, string>>> = {
  EMFILE:
    'a worker process holds as many descriptors as RLIMIT_NOFILE allows (more workers would hold more)',
  ENFILE: 'the system holds as many open files as fs.file-max allows',
  ENOBUFS: 'the kernel ran out of socket buffer space (net.ipv4.tcp_mem or memory)',
  ENOMEM: 'the kernel could not allocate memory for another socket',
  EADDRNOTAVAIL:
    'every ephemeral port from the source IP to the destination ip:port is in use (net.ipv4.ip_local_port_range)',
  ECONNREFUSED:
    'nothing listens at the destination any more (a full accept queue drops SYNs on Linux; it does not refuse them)',
};

/** What an errno means as the wall of a `max` run, or its plain meaning when it is not one. */
export function wallMeaning(errno: string): string {
  return (WALL_MEANING as Record<string, string>)[errno.toUpperCase()] ?? errnoMeaning(errno);
}

/** The errno name for a number (e.g. 98 -> EADDRINUSE on Linux), or `E<number>` when unknown. */
export function errnoName(errno: number): ErrnoCode {
  return (NAMES.get(errno) as ErrnoCode | undefined) ?? `E${errno}`;
}

/** The errno number for a name on this OS, or undefined. */
export function errnoNumber(name: string): number | undefined {
  return NUMBERS[name.toUpperCase()];
}

/** One line of meaning for an errno name or number. */
export function errnoMeaning(errno: string | number): string {
  const name = typeof errno === 'number' ? errnoName(errno) : errno.toUpperCase();
  return (
    (ERRNO_MEANING as Record<string, string>)[name] ??
    (NUMBERS[name] !== undefined ? 'see errno(3)' : 'unknown errno')
  );
}

export interface ErrnoInfo {
  name: string;
  number: number | undefined;
  meaning: string;
  known: boolean;
}

/** Looks up an errno by name (EADDRINUSE, case-insensitive) or number (98). */
export function lookupErrno(query: string | number): ErrnoInfo {
  const q = String(query).trim();
  const number = /^\d+$/.test(q) ? Number(q) : errnoNumber(q);
  const name = number !== undefined ? errnoName(number) : q.toUpperCase();
  return {
    name,
    number,
    meaning: errnoMeaning(name),
    known: number !== undefined && NAMES.has(number),
  };
}

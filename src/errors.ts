/**
 * Errors a user can see. Each carries a `code` that statically and permanently identifies it;
 * the message may change. The CLI maps UsageError to exit code 2 and everything else to 1.
 * No code path decides anything from an error's message text: test `code` (or the class).
 */
import { type ErrnoCode, errnoMeaning, errnoName } from './sockets/errno.js';

/**
 * Every code fourtuple raises itself, with what it means. A FourtupleError's `code` is one of
 * these; a SyscallError's `code` is an errno name instead. The README lists this table.
 */
export const ERROR_CODES = {
  FOURTUPLE_USAGE: 'bad input: a flag or option out of range, malformed, missing or conflicting',
  FOURTUPLE_UNSUPPORTED: 'this platform lacks something the command needs (raw sockets off Linux)',
  FOURTUPLE_SOCKET_CLOSED: 'a socket was used after it was closed (a bug in the caller)',
  FOURTUPLE_TARGET_REFUSED:
    'the target is neither loopback nor a host of a lab this run created (see --allow-remote)',
  FOURTUPLE_FD_LIMIT: 'the descriptors the run needs would not fit this process (RLIMIT_NOFILE)',
  FOURTUPLE_NO_LIMITS: 'a limit the run depends on could not be read (RLIMIT_NOFILE)',
  FOURTUPLE_NO_FREE_PORTS: 'no run of free ports was found for the experiment or proof',
  FOURTUPLE_PORTS_BUSY: 'the ports chosen for the run are held by another socket',
  FOURTUPLE_EXPERIMENT:
    'an experiment cannot go on: a socket takes the source port of one that has none',
  FOURTUPLE_LAB_UNREACHABLE: 'a lab machine did not answer across the lab network',
  FOURTUPLE_NO_IP: 'the `ip` command (iproute2) is not installed',
  FOURTUPLE_IP: 'an `ip` command failed (its first line of output is the message)',
  FOURTUPLE_NO_NETNS: 'network namespaces cannot be created here (needs root and iproute2)',
  FOURTUPLE_NO_LAB: 'no lab with that run id exists',
  FOURTUPLE_LAB_IN_USE:
    "a process is inside one of the lab's namespaces, so it was left as it is (see --force)",
  FOURTUPLE_CLEANUP: 'some leftovers of a crashed run could not be removed',
  FOURTUPLE_NO_WORKER: 'a worker process (`max`, `listen --workers`) could not be built or started',
  FOURTUPLE_TLS_CERT:
    'a throwaway certificate for `max --tls` could not be made (is the openssl binary installed?)',
  FOURTUPLE_TLS_HANDSHAKE:
    'no TLS handshake succeeded with the target (it does not speak TLS, or not this version)',
  FOURTUPLE_BARRIER:
    'a cluster agent did not get the common start (coordinator unreachable, refused, timed out)',
  FOURTUPLE_MEASURE_UNREADABLE: 'the memory or socket counters in /proc could not be read',
  FOURTUPLE_MEASURE_STOPPED: 'the measuring connection holder was stopped',
  FOURTUPLE_MEASURE_TIMEOUT: 'the measuring connections were not all established in time',
  FOURTUPLE_MEASURE_WORKER: 'the measuring connection holder (a `max` worker) failed or exited',
  FOURTUPLE_INTERRUPTED:
    'the run was interrupted by SIGINT (exit 130) or SIGTERM (exit 143), or its stdout was closed (exit 141)',
  FOURTUPLE_RESULT_UNKNOWN: 'a results file is not a fourtuple result (no known kind)',
  FOURTUPLE_RESULT_INVALID:
    'a saved result has a field of the wrong type, or lacks one (the message names it)',
  FOURTUPLE_RESULT_VERSION: 'a results file was written by a newer fourtuple (its version)',
} as const;

/** A code fourtuple raises itself. */
export type FourtupleCode = keyof typeof ERROR_CODES;

/** Base class: an error fourtuple raised on purpose, with a stable code. */
export class FourtupleError extends Error {
  override name = 'FourtupleError';
  constructor(
    readonly code: FourtupleCode | ErrnoCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Bad input from the user: a flag out of range, malformed, missing or conflicting.
 * The message is one line and names the flag and the accepted range.
 */
export class UsageError extends FourtupleError {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly flag?: string,
  ) {
    super('FOURTUPLE_USAGE', message);
  }
}

/**
 * A library option out of range or malformed, named by its library field (`basePort`), not by a
 * CLI flag: the CLI maps `option` to its flag (`--base-port`) and formats the same parts.
 */
export class InvalidOptionError extends UsageError {
  override name = 'InvalidOptionError';
  constructor(
    /** the library field, as in the options object (basePort) */
    readonly option: string,
    /** what is accepted, e.g. "an integer from 1 to 65532" */
    readonly expected: string,
    /** the value given, as the user would recognise it */
    readonly got?: string,
  ) {
    super(`${option} must be ${expected}${got === undefined ? '' : ` (got ${got})`}`);
  }
}

/**
 * The reason an AbortSignal carries when SIGINT or SIGTERM interrupted a run: the CLI exits
 * 128 + the signal's number (130, 143) by reading `signal`, never the message.
 */
export class InterruptedError extends FourtupleError {
  override name = 'AbortError';
  constructor(readonly signal: 'SIGINT' | 'SIGTERM' | 'SIGPIPE') {
    super(
      'FOURTUPLE_INTERRUPTED',
      signal === 'SIGPIPE' ? 'stdout was closed (EPIPE)' : `interrupted by ${signal}`,
    );
  }
  /** 130 for SIGINT, 143 for SIGTERM, 141 when stdout was closed (a reader such as `head` left) */
  get exitCode(): number {
    return { SIGINT: 130, SIGTERM: 143, SIGPIPE: 141 }[this.signal];
  }
}

/** The platform lacks something a command needs (for example raw sockets off Linux). */
export class UnsupportedError extends FourtupleError {
  override name = 'UnsupportedError';
  constructor(message: string) {
    super('FOURTUPLE_UNSUPPORTED', message);
  }
}

/**
 * A failed libc call, in the shape Node users know: `connect EADDRNOTAVAIL 127.0.0.1:6001`.
 * `code` is the errno name and is stable; `meaning` is one line of plain English.
 */
export class SyscallError extends FourtupleError {
  override name = 'SyscallError';
  /** the errno name (EADDRNOTAVAIL), or E<number> for a number this OS does not name */
  declare readonly code: ErrnoCode;
  constructor(
    readonly syscall: string,
    code: ErrnoCode,
    readonly errno: number,
    readonly meaning: string,
    readonly address?: string,
    readonly port?: number,
  ) {
    const where = address === undefined ? '' : ` ${formatAddress(address, port)}`;
    super(code, `${syscall} ${code}${where} (${meaning})`);
  }

  /** The error for a failed call from its errno number: `connect EADDRNOTAVAIL 127.0.0.1:6001`. */
  static fromErrno(syscall: string, errno: number, address?: string, port?: number): SyscallError {
    return new SyscallError(syscall, errnoName(errno), errno, errnoMeaning(errno), address, port);
  }
}

/** 127.0.0.1:80, [::1]:80, or the bare address when there is no port. */
export function formatAddress(address: string, port?: number): string {
  if (port === undefined) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * A destination the target policy refuses: not loopback (127.0.0.0/8, ::1) nor a host of a
 * fourtuple lab on this machine, and remote targets were not allowed (`--allow-remote`).
 */
export class TargetRefusedError extends FourtupleError {
  override name = 'TargetRefusedError';
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super('FOURTUPLE_TARGET_REFUSED', `target ${address} refused: ${reason}`);
  }
}

/**
 * Errors a user can see. Each carries a `code` that statically and permanently identifies it;
 * the message may change. The CLI maps UsageError to exit code 2 and everything else to 1.
 */

/** Base class: an error fourtuple raised on purpose, with a stable code. */
export class FourtupleError extends Error {
  override name = 'FourtupleError';
  constructor(
    readonly code: string,
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
  constructor(
    readonly syscall: string,
    code: string,
    readonly errno: number,
    readonly meaning: string,
    readonly address?: string,
    readonly port?: number,
  ) {
    const where = address === undefined ? '' : ` ${formatAddress(address, port)}`;
    super(code, `${syscall} ${code}${where} (${meaning})`);
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

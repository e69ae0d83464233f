/**
 * How a `max` connection gets its source address and port (--port-strategy). Pure: the engine
 * asks `sourceFor` before each connect and makes the calls (src/sockets/descriptors.ts).
 *
 * - kernel: connect() alone; the kernel picks 127.0.0.1 and a port (__inet_hash_connect scans
 *   the ephemeral range from a hashed offset, checking each candidate's bind bucket).
 * - bind-no-port: IP_BIND_ADDRESS_NO_PORT and bind(ip, 0) with the worker's own source IP: the
 *   kernel still picks the port, at connect, for a 4-tuple no other worker shares.
 * - pick: fourtuple binds (worker's IP, port) itself, no SO_REUSEADDR, walking the ephemeral
 *   range once: the kernel searches nothing (a port taken by someone else fails with EADDRINUSE
 *   and the next one is tried).
 * - ip-local-port-range: IP_LOCAL_PORT_RANGE (Linux 6.3+) narrows the kernel's choice to a
 *   slice of the ephemeral range per worker (one of `slices`, chosen by the worker's pid).
 *
 * Source IPs other than 127.0.0.1 are used only towards 127.0.0.0/8 destinations (every
 * 127.x.y.z is local on Linux's loopback); towards ::1 or other hosts every strategy is kernel.
 */
export const PORT_STRATEGIES = ['kernel', 'bind-no-port', 'pick', 'ip-local-port-range'] as const;
export type PortStrategy = (typeof PORT_STRATEGIES)[number];

/** --port-strategy's default (see the README's measurements). */
export const DEFAULT_PORT_STRATEGY: PortStrategy = 'kernel';

/**
 * Slices of the ephemeral range for ip-local-port-range: two, so that a slice (~14k ports of
 * 28k) still holds a worker's ~10k connections to its one destination.
 */
export const RANGE_SLICES = 2;

/**
 * A worker's own loopback source address, from its pid: 127.64.0.0/10 holds 2^22 addresses,
 * as many as Linux has pids (pid_max <= 4194304), so two live workers never share one, and it
 * stays clear of 127.0.0.1 (which every other program on the machine uses).
 */
export function workerSourceIp(pid: number): string {
  const p = pid & 0x3fffff;
  return `127.${64 + (p >> 16)}.${(p >> 8) & 0xff}.${p & 0xff}`;
}

/** The slice [low, high] of the ephemeral range `range` that a worker's pid selects. */
export function rangeSlice(
  pid: number,
  range: { low: number; high: number },
  slices = RANGE_SLICES,
): { low: number; high: number } {
  const size = Math.floor((range.high - range.low + 1) / slices);
  const k = pid % slices;
  const low = range.low + k * size;
  return { low, high: k === slices - 1 ? range.high : low + size - 1 };
}

/** Ports handed out by `pick`: the range walked in order, wrapping at its end. */
export class PortCycle {
  private next: number;
  constructor(private readonly range: { low: number; high: number }) {
    this.next = range.low;
  }
  /** The next port to try. */
  take(): number {
    const p = this.next;
    this.next = p >= this.range.high ? this.range.low : p + 1;
    return p;
  }
  /** How many ports the cycle has. */
  get size(): number {
    return this.range.high - this.range.low + 1;
  }
}

/** 127.0.0.0/8: a destination towards which any 127.x.y.z source works. */
export function isLoopbackV4(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Free ports for real-kernel tests, chosen at run time. A block of consecutive ports below the
 * ephemeral range (32768) is picked at random and checked by binding every port on every
 * address the test will use, with SO_REUSEADDR off (the strictest check: a port held by any
 * socket, even one in TIME_WAIT, is refused). Never hard-code a port: other tests and other
 * programs share this kernel.
 */
import { RawSocket } from '../../src/sockets/socket.js';

const LOW = 20_000;
const HIGH = 32_000;

function bindable(host: string, port: number): boolean {
  let s: RawSocket | undefined;
  try {
    s = RawSocket.forAddress(host, { reuseaddr: false });
    s.bind(host, port);
    return true;
  } catch {
    return false;
  } finally {
    s?.close();
  }
}

/**
 * The first port of `count` consecutive ports that are all free on every one of `hosts`
 * (default 127.0.0.1, 127.0.0.2 and ::1).
 */
export function freePortBlock(
  count = 1,
  hosts: readonly string[] = ['127.0.0.1', '127.0.0.2', '::1'],
): number {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = LOW + Math.floor(Math.random() * (HIGH - LOW - count));
    let ok = true;
    for (let p = base; ok && p < base + count; p++) {
      for (const h of hosts) {
        if (!bindable(h, p)) {
          ok = false;
          break;
        }
      }
    }
    if (ok) return base;
  }
  throw new Error(`no block of ${count} free ports found between ${LOW} and ${HIGH}`);
}

/** One free port on every one of `hosts`. */
export function freePort(hosts?: readonly string[]): number {
  return freePortBlock(1, hosts);
}

/**
 * Free ports for real-kernel tests, chosen at run time by the library's one finder
 * (src/hosts/ports.ts): a block of consecutive ports below the ephemeral range (32768), picked
 * at random and checked by binding every port on every address the test will use, with
 * SO_REUSEADDR off (a port held by any socket, even one in TIME_WAIT, is refused). Never
 * hard-code a port: other tests and other programs share this kernel.
 */
import { findFreePorts } from '../../src/hosts/ports.js';

/**
 * The first port of `count` consecutive ports that are all free on every one of `hosts`
 * (default 127.0.0.1, 127.0.0.2 and ::1).
 */
export function freePortBlock(
  count = 1,
  hosts: readonly string[] = ['127.0.0.1', '127.0.0.2', '::1'],
): number {
  return findFreePorts(count, { hosts });
}

/** One free port on every one of `hosts`. */
export function freePort(hosts?: readonly string[]): number {
  return freePortBlock(1, hosts);
}

/**
 * Free ports, found at run time: the one finder used by the demo, the proof and the tests.
 *
 * A port counts as free on an address when a socket without SO_REUSEADDR can bind it there, the
 * strictest test: the kernel refuses such a bind while any socket holds the port on that
 * address, a socket in TIME_WAIT included. Binding the wildcard (0.0.0.0, or :: with
 * IPV6_V6ONLY) checks every address of its family at once: a wildcard bind conflicts with a
 * socket on any specific address of the same port. Netns machines are probed inside their
 * namespace (each has its own port space).
 *
 * Blocks are tried from a random start below the ephemeral range (32768 by default,
 * net.ipv4.ip_local_port_range), so two runs at once rarely meet, and the kernel never hands
 * one of our ports to another program's outgoing connection.
 */

import { createServer, type Server } from 'node:net';
import { FourtupleError, InvalidOptionError } from '../errors.js';
import { withNetns } from '../sockets/netns.js';
import { RawSocket } from '../sockets/socket.js';

/**
 * The lowest port a run accepts as a base port. Below it (net.ipv4.ip_unprivileged_port_start,
 * 1024 by default) bind() needs CAP_NET_BIND_SERVICE: as root the runs would work there, but
 * without root every bind fails with EACCES, which the free-port check would misreport as a busy
 * port and an experiment as a kernel that contradicts its prediction. Those ports also belong to
 * well-known services (ssh on 22). So the library, and the CLI after it, start at 1024 for
 * everyone, root included: the same range on every machine, whoever runs it.
 */
export const LOWEST_UNPRIVILEGED_PORT = 1024;

/** Where free ports are looked for: above the registered well-known range, below ephemeral. */
export const FREE_PORT_RANGE = { low: 10_000, high: 32_767 } as const;

/** An address to probe, with the namespace it lives in (netns machines). */
export interface PortHost {
  address: string;
  /** create the probing sockets inside this namespace (/run/netns/NAME) */
  netnsPath?: string;
}

/** Every local address, IPv4 and IPv6: the default hosts of findFreePorts. */
export const EVERY_ADDRESS: readonly PortHost[] = [{ address: '0.0.0.0' }, { address: '::' }];

export interface FindFreePortsOptions {
  /** where every port of the block must be free (default EVERY_ADDRESS) */
  hosts?: readonly (string | PortHost)[];
  /** the lowest port of the block (default FREE_PORT_RANGE.low) */
  low?: number;
  /** the highest port of the block (default FREE_PORT_RANGE.high) */
  high?: number;
  /** ports that must not be part of the block (already chosen by this run) */
  avoid?: ReadonlySet<number>;
  /** random blocks tried before giving up (default 200) */
  attempts?: number;
  /** for tests: the source of randomness (default Math.random) */
  random?: () => number;
}

function bindable(address: string, port: number): boolean {
  let s: RawSocket | undefined;
  try {
    // IPV6_V6ONLY on :: keeps the IPv6 check apart from the IPv4 one; on any other IPv6
    // address it changes nothing.
    s = RawSocket.forAddress(address, {
      reuseaddr: false,
      ...(address.includes(':') ? { v6only: true } : {}),
    });
    s.bind(address, port);
    return true;
  } catch {
    return false;
  } finally {
    s?.close();
  }
}

function asHost(h: string | PortHost): PortHost {
  return typeof h === 'string' ? { address: h } : h;
}

/** True when ports base..base+count-1 are all free on every host (default: every address). */
export function portsAreFree(
  base: number,
  count = 1,
  hosts: readonly (string | PortHost)[] = EVERY_ADDRESS,
): boolean {
  for (const h of hosts.map(asHost)) {
    const ok = withNetns(h.netnsPath, () => {
      for (let p = base; p < base + count; p++) if (!bindable(h.address, p)) return false;
      return true;
    });
    if (!ok) return false;
  }
  return true;
}

/** The ports of base..base+count-1 that are not free on every host, in order. */
export function busyPorts(
  base: number,
  count = 1,
  hosts: readonly (string | PortHost)[] = EVERY_ADDRESS,
): number[] {
  return Array.from({ length: count }, (_, k) => base + k).filter(
    (p) => !portsAreFree(p, 1, hosts),
  );
}

/**
 * The first port of `count` consecutive ports free on every host, between `low` and `high`.
 * Throws FOURTUPLE_NO_FREE_PORTS when no block is found after `attempts` random tries.
 */
export function findFreePorts(count = 1, options: FindFreePortsOptions = {}): number {
  const low = options.low ?? FREE_PORT_RANGE.low;
  const high = options.high ?? FREE_PORT_RANGE.high;
  const hosts = options.hosts ?? EVERY_ADDRESS;
  const avoid = options.avoid ?? new Set<number>();
  const random = options.random ?? Math.random;
  const attempts = options.attempts ?? 200;
  const starts = high - low + 2 - count;
  if (!Number.isInteger(count) || count < 1 || starts < 1) {
    throw new InvalidOptionError(
      'count',
      `an integer from 1 to ${high - low + 1} (the ports from ${low} to ${high})`,
      String(count),
    );
  }
  for (let i = 0; i < attempts; i++) {
    const base = low + Math.floor(random() * starts);
    let clear = true;
    for (let p = base; clear && p < base + count; p++) clear = !avoid.has(p);
    if (clear && portsAreFree(base, count, hosts)) return base;
  }
  throw new FourtupleError(
    'FOURTUPLE_NO_FREE_PORTS',
    `no block of ${count} consecutive free ports found between ${low} and ${high} on ` +
      `${hosts.map((h) => asHost(h).address).join(', ')} after ${attempts} tries; ` +
      'choose the base port yourself',
  );
}

/** Ports this process holds with lockPorts: the lock of a run that owns them. */
export interface PortLock {
  readonly low: number;
  readonly count: number;
  /** gives the ports back (idempotent) */
  release(): Promise<void>;
}

/** The abstract Unix socket name that stands for "a fourtuple run owns TCP port P". */
function lockName(port: number): string {
  return `\0fourtuple/tcp-port/${port}`;
}

/**
 * Takes ports low..low+count-1 for this run. Sockets that set SO_REUSEPORT (every proof socket
 * does: each endpoint both listens and connects) share a port with any other such socket of the
 * same user, so a free-port check alone cannot keep two runs apart. The lock is one abstract Unix
 * socket per port: binding a name is exclusive within the network namespace, and the kernel
 * releases it when the process ends, however it ends (no stale lock files). Resolves undefined
 * when another run holds one of them (nothing is kept then).
 */
export async function lockPorts(low: number, count: number): Promise<PortLock | undefined> {
  const servers: Server[] = [];
  const release = async (): Promise<void> => {
    const all = servers.splice(0);
    await Promise.all(all.map((s) => new Promise<void>((r) => s.close(() => r()))));
  };
  for (let p = low; p < low + count; p++) {
    const s = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(lockName(p), () => resolve(true));
    });
    if (!ok) {
      await release();
      return undefined;
    }
    s.unref(); // a lock never keeps the process alive
    servers.push(s);
  }
  return { low, count, release };
}

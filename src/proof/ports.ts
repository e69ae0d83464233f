/**
 * A free block of ports for a proof, found at run time: every port of the block must be
 * bindable on every machine's address (inside its namespace for netns machines) with
 * SO_REUSEADDR off, the strictest test (a port held by any socket, even one in TIME_WAIT, is
 * refused). Blocks are tried from a random start below the ephemeral range (32768), so two
 * runs at once rarely meet, and the kernel never hands one of our ports to another program's
 * outgoing connection.
 */
import { FourtupleError } from '../errors.js';
import { withNetns } from '../sockets/netns.js';
import { RawSocket } from '../sockets/socket.js';

/** Where default base ports come from: above the registered well-known range, below ephemeral. */
export const FREE_PORT_RANGE = { low: 10_000, high: 32_767 } as const;

export interface PortHost {
  address: string;
  /** create the probing sockets inside this namespace */
  netnsPath?: string;
}

function bindable(address: string, port: number): boolean {
  let s: RawSocket | undefined;
  try {
    s = RawSocket.forAddress(address, { reuseaddr: false });
    s.bind(address, port);
    return true;
  } catch {
    return false;
  } finally {
    s?.close();
  }
}

/** True when ports base..base+count-1 are all free on every host. */
export function blockIsFree(hosts: readonly PortHost[], base: number, count: number): boolean {
  for (const h of hosts) {
    const ok = withNetns(h.netnsPath, () => {
      for (let p = base; p < base + count; p++) if (!bindable(h.address, p)) return false;
      return true;
    });
    if (!ok) return false;
  }
  return true;
}

/**
 * The first port of `count` consecutive ports free on every host, from FREE_PORT_RANGE.
 * Throws when none is found after `attempts` random tries.
 */
export function findFreeBase(
  hosts: readonly PortHost[],
  count: number,
  options: { attempts?: number; random?: () => number } = {},
): number {
  const { low, high } = FREE_PORT_RANGE;
  const span = high - low + 1 - count;
  if (span < 1) {
    throw new RangeError(`a block of ${count} ports does not fit between ${low} and ${high}`);
  }
  const random = options.random ?? Math.random;
  const attempts = options.attempts ?? 200;
  for (let i = 0; i < attempts; i++) {
    const base = low + Math.floor(random() * span);
    if (blockIsFree(hosts, base, count)) return base;
  }
  throw new FourtupleError(
    'FOURTUPLE_NO_FREE_PORTS',
    `no block of ${count} consecutive free ports found between ${low} and ${high} on ` +
      `${hosts.map((h) => h.address).join(', ')} after ${attempts} tries; pass --base-port`,
  );
}

/**
 * IP_LOCAL_PORT_RANGE (Linux 6.3+): a per-socket narrowing of the ephemeral port range that
 * bind(ip, 0) and connect() choose from. The kernel only honours bounds that lie inside
 * net.ipv4.ip_local_port_range; a bound outside it is ignored. The demo uses a range of one
 * port to make the kernel's choice deterministic: "use port X or fail".
 */
import { libc } from './libc.js';
import { constants } from './platform.js';
import { lastError, type RawSocket } from './socket.js';

/** <linux/in.h>: IP_LOCAL_PORT_RANGE, at level IPPROTO_IP (also honoured on IPv6 sockets). */
export const IP_LOCAL_PORT_RANGE = 51;

/** Restricts the ports the kernel may choose for this socket to [low, high]. */
export function setLocalPortRange(socket: RawSocket, low: number, high: number): void {
  const b = Buffer.alloc(4);
  b.writeUInt32LE((((high & 0xffff) << 16) | (low & 0xffff)) >>> 0, 0);
  if (libc().setsockopt(socket.fd, constants().IPPROTO_IP, IP_LOCAL_PORT_RANGE, b, 4) < 0) {
    throw lastError('setsockopt(IP_LOCAL_PORT_RANGE)');
  }
}

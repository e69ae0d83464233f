/**
 * The proof's pool of endpoints and sockets: every machine's ip:port, the ports they use, one
 * listener each, the connecting sockets (socket, SO_REUSEADDR + SO_REUSEPORT, bind, connect),
 * and the one place that closes them all.
 */
import { FourtupleError, SyscallError } from '../errors.js';
import { busyPorts, findFreePorts, type Lab, type PortHost } from '../hosts/index.js';
import { lockPorts, type PortLock } from '../hosts/ports.js';
import { withNetns } from '../sockets/netns.js';
import { constants } from '../sockets/platform.js';
import { waitReady } from '../sockets/poller.js';
import { RawSocket } from '../sockets/socket.js';
import type { ProvePhase } from './types.js';

/**
 * Both options on every socket (the design's recipe). A listening socket blocks every other bind
 * to its ip:port unless both sockets set SO_REUSEPORT (same uid) before bind(); SO_REUSEADDR
 * alone is not enough on Linux.
 */
export const SOCKET_OPTIONS = { reuseaddr: true, reuseport: true } as const;
const LISTEN_BACKLOG = 4096;

export interface Endpoint {
  index: number;
  machine: number;
  address: string;
  port: number;
  netnsPath?: string;
  label: string;
}

/** One intended connection, `from` connecting to `to` (endpoint indices; equal for a self one). */
export interface Conn {
  from: number;
  to: number;
  socket?: RawSocket;
  error?: string;
}

/** Every socket a proof holds, so that one `closeAll` can RST them on any way out. */
export interface Held {
  listeners: RawSocket[];
  /** per listener, what its accept() returned */
  accepted: RawSocket[][];
  conns: Conn[];
  /** extra attempts that got through, and what they left in listeners' queues */
  strays: RawSocket[];
}

/** What the phases share: the endpoints and how to run. */
export interface ProofContext {
  eps: Endpoint[];
  timeoutMs: number;
  concurrency: number;
  signal?: AbortSignal;
  progress: (phase: ProvePhase, done: number, total: number) => void;
}

/** The errno name of a failed connect; an abort is rethrown (the run stops and cleans up). */
export function errName(err: unknown, signal?: AbortSignal): string {
  if (signal?.aborted) throw err;
  if (err instanceof SyscallError) return err.code;
  return err instanceof Error ? err.name : 'unknown';
}

/** Adds `n` (default 1) to `map[key]`: counts by errno name. */
export function bump(map: Record<string, number>, key: string, n = 1): void {
  map[key] = (map[key] ?? 0) + n;
}

/**
 * The base port, owned by this run: `basePort` as given when ports base..base+ports-1 are free on
 * every machine and no other run holds them (FOURTUPLE_PORTS_BUSY otherwise); without it, a block
 * free on every machine that no other run holds. The lock is held until `release()`.
 */
export async function claimBasePort(
  lab: Lab,
  ports: number,
  basePort?: number,
): Promise<{ basePort: number; lock: PortLock }> {
  const hosts: PortHost[] = lab.machines.map((m) => ({
    address: m.address,
    ...(m.netnsPath ? { netnsPath: m.netnsPath } : {}),
  }));
  const range = (b: number): string => `${b}-${b + ports - 1}`;
  if (basePort !== undefined) {
    // lock first, then check: a run that holds the lock is the only one that may bind them now
    const lock = await lockPorts(basePort, ports);
    if (!lock) {
      throw new FourtupleError(
        'FOURTUPLE_PORTS_BUSY',
        `another fourtuple run is using ports ${range(basePort)}; wait for it, or choose another base port`,
      );
    }
    if (busyPorts(basePort, ports, hosts).length > 0) {
      await lock.release();
      throw new FourtupleError(
        'FOURTUPLE_PORTS_BUSY',
        `ports ${range(basePort)} are not all free on ${hosts.map((h) => h.address).join(', ')} (something holds one of them, maybe in TIME_WAIT); choose another base port or leave it out`,
      );
    }
    return { basePort, lock };
  }
  const avoid = new Set<number>();
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = findFreePorts(ports, { hosts, avoid });
    const lock = await lockPorts(base, ports);
    if (lock && busyPorts(base, ports, hosts).length === 0) return { basePort: base, lock };
    await lock?.release();
    for (let p = base; p < base + ports; p++) avoid.add(p);
  }
  throw new FourtupleError(
    'FOURTUPLE_NO_FREE_PORTS',
    `no block of ${ports} free ports that no other run holds, after 20 tries`,
  );
}

/** Every machine's endpoints, in order: machine 0's ports, then machine 1's, ... */
export function planEndpoints(lab: Lab, ports: number, basePort: number): Endpoint[] {
  const out: Endpoint[] = [];
  for (const m of lab.machines) {
    for (let j = 0; j < ports; j++) {
      const ep: Endpoint = {
        index: out.length,
        machine: m.index,
        address: m.address,
        port: basePort + j,
        label: `${m.address}:${basePort + j}`,
      };
      if (m.netnsPath) ep.netnsPath = m.netnsPath;
      out.push(ep);
    }
  }
  return out;
}

/** Step 1: every endpoint listens (inside its machine's namespace), in endpoint order. */
export function listenAll(eps: readonly Endpoint[], held: Held): void {
  for (const ep of eps) {
    const s = withNetns(ep.netnsPath, () => RawSocket.create(4, SOCKET_OPTIONS));
    held.listeners.push(s);
    held.accepted.push([]);
    s.bind(ep.address, ep.port);
    s.listen(LISTEN_BACKLOG);
  }
}

/**
 * socket() inside the endpoint's namespace, SO_REUSEADDR + SO_REUSEPORT, bind(from), connect(to),
 * awaited. Resolves with the connected socket; rejects with the SyscallError and closes it.
 */
export async function connectFrom(
  from: Endpoint,
  to: Endpoint,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RawSocket> {
  let started = false;
  const socket = withNetns(from.netnsPath, () => {
    const s = RawSocket.create(4, SOCKET_OPTIONS);
    try {
      s.bind(from.address, from.port);
      started = s.connectStart(to.address, to.port);
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  });
  try {
    if (!started && !connectedAlready(socket)) {
      await waitReady(socket.fd, constants().EPOLLOUT, timeoutMs, signal);
      const err = socket.pendingError();
      if (err !== 0) throw SyscallError.fromErrno('connect', err, to.address, to.port);
      socket.remoteAddress(); // ENOTCONN if it did not connect after all
    }
    return socket;
  } catch (err) {
    socket.closeReset();
    throw err;
  }
}

/**
 * On one kernel the handshake often completes inside connect(): getpeername answers ENOTCONN
 * only while the socket is still in SYN_SENT.
 */
function connectedAlready(socket: RawSocket): boolean {
  try {
    socket.remoteAddress();
    return true;
  } catch {
    return false;
  }
}

/** Step 6: everything RST (SO_LINGER 0: no TIME_WAIT left behind), then the listeners. */
export function closeAll(held: Held): void {
  for (const s of held.strays) s.closeReset();
  for (const c of held.conns) c.socket?.closeReset();
  for (const xs of held.accepted) for (const s of xs) s.closeReset();
  for (const l of held.listeners) l.close();
}

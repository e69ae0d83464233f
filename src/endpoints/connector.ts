/**
 * The connector: binds a chosen source ip:port before connecting (the heart of every
 * experiment), with each socket option on or off, then keeps a heartbeat going and reads the
 * listener's echo. `openConnection` is the raw step the experiments and the proof build on.
 */
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { formatAddress } from '../errors.js';
import { assertTargetsAllowed } from '../policy/targets.js';
import { withNetns } from '../sockets/netns.js';
import { formatSockAddr, type SockAddr } from '../sockets/sockaddr.js';
import { RawSocket, type SocketOptions } from '../sockets/socket.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface OpenOptions extends SocketOptions {
  to: Endpoint;
  /** source address; port 0 (or no `from`) lets the kernel choose */
  from?: Endpoint;
  /** connect timeout (default 10 s) */
  timeoutMs?: number;
  /** create the socket inside this network namespace (/run/netns/NAME) */
  netnsPath?: string;
  signal?: AbortSignal;
}

export interface OpenConnection {
  socket: RawSocket;
  local: SockAddr;
  remote: SockAddr;
}

/**
 * socket(), options, bind(from) when given, connect(to), awaited. On any failure the socket is
 * closed and the SyscallError (bind EADDRINUSE, connect EADDRNOTAVAIL, ...) is thrown.
 */
export async function openConnection(options: OpenOptions): Promise<OpenConnection> {
  const { to, from, timeoutMs, netnsPath, signal, ...socketOptions } = options;
  signal?.throwIfAborted();
  const socket = withNetns(netnsPath, () => {
    const s = RawSocket.forAddress(to.host, socketOptions);
    try {
      if (from) s.bind(from.host, from.port);
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  });
  try {
    await socket.connect(to.host, to.port, {
      timeoutMs: timeoutMs ?? 10_000,
      ...(signal ? { signal } : {}),
    });
    return { socket, local: socket.localAddress(), remote: socket.remoteAddress() };
  } catch (err) {
    socket.closeReset();
    throw err;
  }
}

/** Errors after which the next address of a name is worth trying: this one is not there. */
const TRY_NEXT = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
  'EAFNOSUPPORT',
]);

/**
 * Connects to `open.to`, then to each of `fallbacks` in turn while the connection is refused or
 * unreachable (an address of the other family than --from is skipped); each failure is reported
 * as a `tried` event. Throws the last error when none accepts.
 */
async function openFirst(
  open: OpenOptions,
  fallbacks: readonly string[],
  onEvent: (e: HeartbeatEvent) => void,
): Promise<OpenConnection> {
  const hosts = [open.to.host, ...fallbacks.filter((h) => h !== open.to.host)];
  const fromV6 = open.from ? open.from.host.includes(':') : undefined;
  const usable = hosts.filter(
    (h, i) => i === 0 || fromV6 === undefined || h.includes(':') === fromV6,
  );
  let last: unknown;
  for (const [i, host] of usable.entries()) {
    try {
      return await openConnection({ ...open, to: { host, port: open.to.port } });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (i === usable.length - 1 || !TRY_NEXT.has(code) || open.signal?.aborted) throw err;
      onEvent({ event: 'tried', remote: formatAddress(host, open.to.port), error: code });
      last = err;
    }
  }
  throw last;
}

export interface HeartbeatOptions extends OpenOptions {
  /** bytes sent each beat (default "hi") */
  data?: string;
  /** time between beats (default 5 s) */
  intervalMs?: number;
  /** beats to send; 0 means until the signal aborts */
  count?: number;
  /** how long to wait for each echo (default 5 s) */
  echoTimeoutMs?: number;
  /** allow a destination that is neither loopback nor a lab host (default false) */
  allowRemote?: boolean;
  /** lab hosts reachable from where the socket is created: the machines of the lab whose namespace netnsPath is (none from the root namespace) */
  labAddresses?: readonly string[];
  /**
   * the other addresses the destination's name resolved to, tried in order when connecting to
   * `to.host` fails (as Node's autoSelectFamily does); each is checked by the target policy
   */
  fallbacks?: readonly string[];
}

export type HeartbeatEvent =
  | { event: 'tried'; remote: string; error: string }
  | { event: 'connected'; local: string; remote: string }
  | { event: 'sent'; seq: number; data: string }
  | { event: 'echo'; seq: number; data: string }
  | { event: 'no-echo'; seq: number }
  | { event: 'closed'; by: 'peer' | 'us' };

export interface HeartbeatResult {
  local: string;
  remote: string;
  sent: number;
  echoed: number;
  closedBy: 'peer' | 'us';
}

/** Connects, then sends `data` every interval and reports each echo ("Lub hi... Dub tag:hi"). */
export async function heartbeat(
  options: HeartbeatOptions,
  onEvent: (e: HeartbeatEvent) => void = () => {},
): Promise<HeartbeatResult> {
  const { allowRemote, labAddresses, fallbacks, ...open } = options;
  // The target policy: loopback and our own lab hosts only, unless remote targets are allowed.
  assertTargetsAllowed([options.to.host, ...(fallbacks ?? [])], {
    allowRemote: allowRemote ?? false,
    ...(labAddresses ? { labAddresses } : {}),
  });
  const { socket, local, remote } = await openFirst(open, fallbacks ?? [], onEvent);
  const l = formatSockAddr(local);
  const r = formatSockAddr(remote);
  onEvent({ event: 'connected', local: l, remote: r });
  const sock = socket.toNetSocket();
  const data = options.data ?? 'hi';
  const count = options.count ?? 0;
  const signal = options.signal;
  let closedBy: 'peer' | 'us' = 'us';
  let peerClosed = false;
  const chunks: Buffer[] = [];
  let wake: (() => void) | undefined;
  sock.on('data', (c: Buffer) => {
    chunks.push(c);
    wake?.();
  });
  const onGone = (): void => {
    peerClosed = true;
    wake?.();
  };
  sock.on('end', onGone);
  sock.on('close', onGone);
  sock.on('error', onGone);
  let sent = 0;
  let echoed = 0;
  try {
    for (let seq = 1; count === 0 || seq <= count; seq++) {
      if (signal?.aborted || peerClosed) break;
      sock.write(data);
      sent++;
      onEvent({ event: 'sent', seq, data });
      const got = await new Promise<boolean>((resolve) => {
        if (chunks.length) return resolve(true);
        const t = setTimeout(() => resolve(false), options.echoTimeoutMs ?? 5000);
        const onAbort = (): void => resolve(false);
        signal?.addEventListener('abort', onAbort, { once: true });
        wake = () => {
          clearTimeout(t);
          signal?.removeEventListener('abort', onAbort);
          resolve(chunks.length > 0);
        };
      });
      wake = undefined;
      if (got) {
        echoed++;
        onEvent({ event: 'echo', seq, data: Buffer.concat(chunks.splice(0)).toString('utf8') });
      } else if (peerClosed) {
        break;
      } else if (!signal?.aborted) {
        onEvent({ event: 'no-echo', seq });
      }
      if (count !== 0 && seq === count) break;
      try {
        await delay(options.intervalMs ?? 5000, undefined, signal ? { signal } : {});
      } catch {
        break; // aborted
      }
    }
  } finally {
    if (peerClosed) closedBy = 'peer';
    sock.resetAndDestroy();
    if (!sock.closed) await once(sock, 'close').catch(() => {});
    onEvent({ event: 'closed', by: closedBy });
  }
  return { local: l, remote: r, sent, echoed, closedBy };
}

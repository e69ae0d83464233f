/**
 * The echo listener: accepts on a socket whose options we set ourselves, logs each peer with
 * its full 4-tuple, and echoes every byte back prefixed with its tag, so two listeners on the
 * same port but different IPs (or the reverse) are told apart in the echo. I/O runs on
 * node:net (libuv, epoll): no poll array, no limit but the descriptor limit.
 */
import net from 'node:net';
import { formatAddress } from '../errors.js';
import { withNetns } from '../sockets/netns.js';
import { getNofileLimit, openDescriptors } from '../sockets/rlimit.js';
import { formatSockAddr, type SockAddr } from '../sockets/sockaddr.js';
import { RawSocket } from '../sockets/socket.js';

export interface ListenerOptions {
  host: string;
  port: number;
  /** prefix of every echo; default: the listener's own ip:port */
  tag?: string;
  /** SO_REUSEADDR (default on, like the seed's listener) */
  reuseaddr?: boolean;
  /** SO_REUSEPORT (default off) */
  reuseport?: boolean;
  /** listen() backlog (default 511) */
  backlog?: number;
  /** create the socket inside this network namespace (/run/netns/NAME) */
  netnsPath?: string;
  /**
   * connections held at most; one more is closed at once and reported as a `drop` event. Out
   * of descriptors, libuv closes new connections silently (its EMFILE trick: no error reaches
   * the listener), so a budget below RLIMIT_NOFILE (`descriptorBudget()`) is how that is seen.
   */
  maxConnections?: number;
  /** stop when this signal aborts */
  signal?: AbortSignal;
}

export type ListenerEvent =
  | { event: 'listening'; local: string; tag: string }
  | { event: 'accept'; local: string; remote: string }
  | { event: 'data'; local: string; remote: string; bytes: number; text: string }
  | { event: 'error'; local: string; syscall: string; error: string }
  | { event: 'drop'; local: string; remote: string; open: number; dropped: number }
  | {
      event: 'close';
      local: string;
      remote: string;
      bytesIn: number;
      bytesOut: number;
      error?: string;
    };

export interface ListenerStats {
  accepted: number;
  open: number;
  bytesIn: number;
  bytesOut: number;
  resets: number;
  /** accept() failures (EMFILE, ENFILE, ENOBUFS, ...): the listener logs them and goes on */
  acceptErrors: number;
  /** connections closed at once because maxConnections were open (out of descriptors) */
  dropped: number;
}

/** Counts of a listener that has accepted nothing yet. */
export function emptyListenerStats(): ListenerStats {
  return { accepted: 0, open: 0, bytesIn: 0, bytesOut: 0, resets: 0, acceptErrors: 0, dropped: 0 };
}

/**
 * The connections this process can still hold: RLIMIT_NOFILE's soft limit, less the descriptors
 * open now and a reserve of `reserve` for everything else (at least 1).
 */
export function descriptorBudget(reserve = 32): number {
  const open = openDescriptors();
  return Math.max(1, getNofileLimit().soft - open - reserve);
}

export interface Listener {
  local: SockAddr;
  tag: string;
  stats: ListenerStats;
  /**
   * Stops accepting and closes every connection with an RST; resolves once the server and
   * every connection have closed and each connection's 'close' event has been reported.
   */
  close(): Promise<void>;
  /** Resolves when the listener has closed (after close() or the signal), as close() does. */
  closed: Promise<void>;
}

/** A printable preview of received bytes: at most 60 characters, control bytes escaped. */
export function preview(data: Buffer, max = 60): string {
  const s = data.subarray(0, max).toString('latin1');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control bytes is the point
  const clean = s.replace(/[\x00-\x1f\x7f-\xff]/g, (ch) =>
    ch === '\n' ? '\\n' : `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return data.length > max ? `${clean}...` : clean;
}

/**
 * Text a peer sent, safe to print on a terminal: control characters (C0, DEL, C1), which could
 * clear the screen, set the window title or fake lines, are escaped (\n, \r, \t, \xHH).
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (ch) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/**
 * Closes a connection at once: with an RST (no TIME_WAIT left), unless our FIN is already on
 * its way (we ended our side after the peer's FIN). libuv refuses to reset a socket whose
 * shutdown is still pending (uv_tcp_close_reset: EINVAL), and Node then never closes the
 * handle: no 'close' event, and the process spins in its exit cleanup. Such a socket is closed
 * plainly; having sent its FIN second, it leaves no TIME_WAIT on this side either.
 */
function closeNow(sock: net.Socket): void {
  if (sock.writableEnded) sock.destroy();
  else sock.resetAndDestroy();
}

export async function startListener(
  options: ListenerOptions,
  onEvent: (e: ListenerEvent) => void = () => {},
): Promise<Listener> {
  options.signal?.throwIfAborted();
  const raw = withNetns(options.netnsPath, () => {
    const s = RawSocket.forAddress(options.host, {
      reuseaddr: options.reuseaddr ?? true,
      reuseport: options.reuseport ?? false,
    });
    try {
      s.bind(options.host, options.port);
      s.listen(options.backlog ?? 511);
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  });
  const localAddr = raw.localAddress();
  const local = formatSockAddr(localAddr);
  const tag = options.tag ?? local;
  const prefix = Buffer.from(`${tag}:`);
  const stats = emptyListenerStats();
  const sockets = new Set<net.Socket>();
  let closing: Promise<void> | undefined;

  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, (sock) => {
    // A peer that resets before we accept leaves a socket with no peer name (ENOTCONN).
    const remote =
      sock.remoteAddress === undefined
        ? '(reset before accept)'
        : `${sock.remoteFamily === 'IPv6' ? `[${sock.remoteAddress}]` : sock.remoteAddress}:${sock.remotePort}`;
    sockets.add(sock);
    stats.accepted++;
    stats.open++;
    let bytesIn = 0;
    let bytesOut = 0;
    let error: string | undefined;
    onEvent({ event: 'accept', local, remote });
    sock.on('data', (chunk: Buffer) => {
      bytesIn += chunk.length;
      stats.bytesIn += chunk.length;
      onEvent({ event: 'data', local, remote, bytes: chunk.length, text: preview(chunk) });
      const out = Buffer.concat([prefix, chunk]);
      bytesOut += out.length;
      stats.bytesOut += out.length;
      // Backpressure: a peer that does not read makes us stop reading, so memory stays bounded.
      if (!sock.write(out)) {
        sock.pause();
        sock.once('drain', () => sock.resume());
      }
    });
    // Half-close: the peer is done sending; finish echoing what we have, then close our side.
    sock.on('end', () => sock.end());
    sock.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
      if (err.code === 'ECONNRESET') stats.resets++;
    });
    sock.on('close', () => {
      sockets.delete(sock);
      stats.open--;
      onEvent({ event: 'close', local, remote, bytesIn, bytesOut, ...(error ? { error } : {}) });
    });
    // Accepted while closing (already queued in libuv): reset it like the others.
    if (closing) closeNow(sock);
  });
  // accept() can fail (EMFILE when out of descriptors, ECONNABORTED, ENOBUFS): libuv has
  // already dropped that connection; without a handler the 'error' would kill the process.
  server.on('error', (err: NodeJS.ErrnoException) => {
    stats.acceptErrors++;
    onEvent({
      event: 'error',
      local,
      syscall: err.syscall ?? 'accept',
      error: err.code ?? err.message,
    });
  });

  if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;
  server.on('drop', (d?: net.DropArgument) => {
    stats.dropped++;
    const remote = d?.remoteAddress ? formatAddress(d.remoteAddress, d.remotePort) : '?';
    onEvent({ event: 'drop', local, remote, open: stats.open, dropped: stats.dropped });
  });

  await raw.toNetServer(server);
  onEvent({ event: 'listening', local, tag });

  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      // The server's own 'close' can come before the connections' 'close' events: wait for
      // each of them, so that every connection is reported closed before close() resolves.
      const all = [...sockets].map((s) => new Promise<void>((resolve) => s.once('close', resolve)));
      for (const s of sockets) closeNow(s);
      await Promise.all([serverClosed, ...all]);
      resolveClosed();
    })();
    return closing;
  };
  if (options.signal) {
    options.signal.addEventListener('abort', () => void close(), { once: true });
    // aborted while the server was starting: the event above will never fire
    if (options.signal.aborted) void close();
  }
  return { local: localAddr, tag, stats, close, closed };
}

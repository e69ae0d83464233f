/**
 * A `max --tls` worker process, one side of the run: a TLS server (a raw listening descriptor
 * handed to net.Server; each accepted socket wrapped in a server TLSSocket that echoes) or a
 * TLS client (a raw descriptor bound and connected by the sockets layer, handed to node:net,
 * then tls.connect over it). One secureContext per process, shared by every connection (one
 * per connection costs ~0.5 ms more per handshake, nodejs/node#43128). Without `tls` the same
 * worker is the plain-TCP baseline. It exits when the coordinator goes away.
 */
import net from 'node:net';
import tls from 'node:tls';
import { FourtupleError, SyscallError } from '../errors.js';
import { RawSocket } from '../sockets/socket.js';
import type { Destination } from './engine.js';
import {
  emptyTlsStats,
  type FromTlsWorker,
  type TlsSetup,
  type TlsStats,
  type ToTlsWorker,
} from './tls-messages.js';

const send = (m: FromTlsWorker): void => {
  if (process.connected) process.send?.(m, undefined, undefined, () => {});
};

/** errnos and TLS failures after which more connects would fail the same way */
const WALLS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL', 'ECONNREFUSED']);
/** handshake times kept for the latency figures */
const KEEP_LATENCIES = 2000;

interface Held {
  /** what the bytes go through: the TLSSocket, or the net.Socket itself with plain TCP */
  io: net.Socket;
  /** the TCP socket under it, reset at teardown */
  tcp: net.Socket;
  /** client: its source port; server: its peer's port */
  port: number;
  /** a verify waiting for this connection's echo */
  onEcho?: (alive: boolean) => void;
}

let role: 'server' | 'client' = 'client';
let setup: TlsSetup | undefined;
let context: tls.SecureContext | undefined;
let host = '127.0.0.1';
let targets: Destination[] = [];
let connectTimeoutMs = 5000;
let server: net.Server | undefined;
let session: Buffer | undefined;
let stopping = false;
const held = new Set<Held>();
/** client: TLS handshakes under way */
const pending = new Set<tls.TLSSocket>();
const stats: TlsStats = emptyTlsStats();

function fail(code: string, words: string, wall: boolean): void {
  stats.failures[code] = (stats.failures[code] ?? 0) + 1;
  stats.firstError ??= words;
  if (wall) stats.wall ??= words;
}

function negotiated(t: tls.TLSSocket): void {
  if (stats.negotiated) return;
  const key = t.getEphemeralKeyInfo();
  stats.negotiated = {
    protocol: t.getProtocol() ?? '?',
    cipher: t.getCipher()?.standardName ?? t.getCipher()?.name ?? '?',
    // the server side does not see the key exchange's name in node: the client reports it
    group: key && 'name' in key && key.name ? key.name : '',
  };
}

/** A held connection: echoes (server) or answers a verify (client); a loss is counted once. */
function hold(h: Held): void {
  held.add(h);
  let gone = false;
  const lose = (): void => {
    if (gone) return;
    gone = true;
    held.delete(h);
    if (!stopping) stats.lost++;
    h.onEcho?.(false);
  };
  h.io.on('data', (d: Buffer) => {
    if (role === 'server') h.io.write(d);
    else h.onEcho?.(true);
  });
  h.io.on('error', lose);
  h.io.on('close', lose);
}

function serverSide(tcp: net.Socket): void {
  const port = tcp.remotePort ?? 0;
  if (!context) {
    stats.established++;
    hold({ io: tcp, tcp, port });
    return;
  }
  const t = new tls.TLSSocket(tcp, { isServer: true, secureContext: context });
  stats.inFlight++;
  let done = false;
  t.once('secure', () => {
    done = true;
    stats.inFlight--;
    stats.established++;
    if (t.isSessionReused()) stats.resumed++;
    negotiated(t);
    hold({ io: t, tcp, port });
  });
  t.once('error', (err: NodeJS.ErrnoException) => {
    if (done) return;
    done = true;
    stats.inFlight--;
    fail(err.code ?? 'EPROTO', `TLS handshake from port ${port}: ${err.message}`, false);
    tcp.destroy();
  });
}

/** One connection: raw socket, bind, connect (the sockets layer), then TLS over node:net. */
async function openOne(d: Destination, wantSession: boolean): Promise<void> {
  const t0 = performance.now();
  const raw = RawSocket.forAddress(d.host, { bindAddressNoPort: true, nodelay: true });
  try {
    raw.bind(net.isIPv6(d.host) ? '::1' : host, 0);
    await raw.connect(d.host, d.port, { timeoutMs: connectTimeoutMs });
  } catch (err) {
    raw.close();
    const code = err instanceof SyscallError ? err.code : 'EIO';
    fail(code, `connect ${code} ${d.host}:${d.port}`, WALLS.has(code));
    return;
  }
  const port = raw.localAddress().port;
  const tcp = raw.toNetSocket();
  if (!context) {
    stats.established++;
    hold({ io: tcp, tcp, port });
    return;
  }
  await new Promise<void>((resolve) => {
    const t = tls.connect({
      socket: tcp,
      secureContext: context!,
      host: d.host,
      ...(net.isIP(d.host) ? {} : { servername: d.host }),
      ...(session ? { session } : {}),
      rejectUnauthorized: setup!.verify,
    });
    let done = false;
    pending.add(t);
    t.once('close', () => pending.delete(t));
    const timer = setTimeout(() => {
      t.destroy(
        Object.assign(new Error('no handshake within the connect timeout'), { code: 'ETIMEDOUT' }),
      );
    }, connectTimeoutMs + 5000);
    if (wantSession) t.once('session', (s: Buffer) => (session ??= s));
    t.once('secureConnect', () => {
      done = true;
      pending.delete(t);
      clearTimeout(timer);
      stats.established++;
      if (t.isSessionReused()) stats.resumed++;
      if (stats.latenciesMs.length < KEEP_LATENCIES) {
        stats.latenciesMs.push(Math.round((performance.now() - t0) * 100) / 100);
      }
      negotiated(t);
      hold({ io: t, tcp, port });
      resolve();
    });
    t.once('error', (err: NodeJS.ErrnoException) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      pending.delete(t);
      if (stopping) {
        resolve(); // abandoned by an interrupt: not a failure of the handshake
        return;
      }
      const code = err.code ?? 'EPROTO';
      // OpenSSL's reason without its file and line ("unexpected message"), else node's message
      const reason = (err as { reason?: string }).reason ?? err.message;
      // a handshake that fails with the server's certificate or its protocol fails every time
      const words = `TLS handshake with ${d.host}:${d.port} failed: ${reason} (${code})`;
      stats.handshakeError ??= words;
      fail(code, words, true);
      tcp.destroy();
      resolve();
    });
  });
}

/** Opens `n` connections, `window` at a time, round-robin over the targets. */
async function ramp(n: number, window: number, rate: number | undefined): Promise<void> {
  stopping = false;
  let started = 0;
  const t0 = performance.now();
  /** --rate: connection k starts no sooner than k / rate seconds into the ramp */
  let waiting = false;
  const due = (k: number): number => (rate ? t0 + (k * 1000) / rate - performance.now() : 0);
  const progress = setInterval(() => send({ type: 'progress', stats }), 200);
  const open = (k: number): Promise<void> => openOne(targets[k % targets.length]!, false);
  // --resume: one full handshake first, whose ticket every other connection presents
  if (setup?.resume && n > 0) {
    await openOne(targets[0]!, true);
    started = 1;
    const until = performance.now() + 2000;
    while (!session && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise<void>((resolve) => {
    let active = 0;
    const next = (): void => {
      while (!stopping && !stats.wall && active < window && started < n) {
        const wait = due(started);
        if (wait > 0) {
          if (!waiting) {
            waiting = true;
            setTimeout(() => {
              waiting = false;
              next();
            }, wait);
          }
          return;
        }
        const k = started++;
        active++;
        stats.inFlight++;
        void open(k).finally(() => {
          active--;
          stats.inFlight--;
          next();
        });
      }
      if (active === 0) resolve();
    };
    next();
  });
  clearInterval(progress);
  send({ type: 'ramped', stats });
}

async function verify(timeoutMs: number): Promise<void> {
  const all = [...held];
  let alive = 0;
  let dead = 0;
  await new Promise<void>((resolve) => {
    let left = all.length;
    if (left === 0) return resolve();
    const timer = setTimeout(resolve, timeoutMs);
    const one = (ok: boolean): void => {
      if (ok) alive++;
      else dead++;
      if (--left === 0) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (const h of all) {
      let answered = false;
      h.onEcho = (ok) => {
        if (answered) return;
        answered = true;
        h.onEcho = undefined;
        one(ok);
      };
      h.io.write('v');
    }
  });
  const unverified = all.length - alive - dead;
  send({ type: 'verified', result: { alive, dead, unverified }, stats });
}

/** Every connection closed with an RST (SO_LINGER 0: no TIME_WAIT), then the process leaves. */
function closeAll(): number {
  stopping = true;
  const n = held.size;
  for (const h of held) h.tcp.resetAndDestroy();
  held.clear();
  server?.close();
  return n;
}

async function handle(m: ToTlsWorker): Promise<void> {
  switch (m.cmd) {
    case 'setup': {
      role = m.role;
      setup = m.tls;
      host = m.host;
      targets = m.targets;
      connectTimeoutMs = m.connectTimeoutMs;
      if (setup) {
        const version = setup.version;
        context = tls.createSecureContext({
          minVersion: version,
          maxVersion: version,
          ...(role === 'server'
            ? {
                cert: setup.certPem,
                key: setup.keyPem,
                ticketKeys: Buffer.from(setup.ticketKeys, 'base64'),
              }
            : setup.verify
              ? { ca: setup.certPem }
              : {}),
        });
      }
      let port = 0;
      if (role === 'server') {
        const raw = RawSocket.forAddress(host, { reuseaddr: true });
        raw.bind(host, 0);
        raw.listen(4096);
        port = raw.localAddress().port;
        // TCP_NODELAY on every accepted socket: with Nagle the flight of handshake records
        // waits for the client's delayed ACK (40 ms a handshake)
        server = net.createServer({ noDelay: true }, serverSide);
        await raw.toNetServer(server);
        // the server's counts, for the coordinator's per-second rates (only when they moved)
        // (a handshake done moves one from inFlight to established: the sum would not change)
        let told = '';
        setInterval(() => {
          const now = `${stats.established} ${stats.inFlight} ${stats.lost}`;
          if (now !== told) send({ type: 'progress', stats });
          told = now;
        }, 200).unref();
      }
      send({ type: 'ready', pid: process.pid, port });
      break;
    }
    case 'ramp':
      await ramp(m.connections, m.window, m.rate);
      break;
    case 'gc':
      (globalThis as { gc?: () => void }).gc?.();
      send({ type: 'progress', stats });
      break;
    case 'stop':
      stopping = true;
      if (m.now) for (const t of pending) t.destroy(new Error('interrupted'));
      break;
    case 'verify':
      await verify(m.timeoutMs);
      break;
    case 'ports':
      send({ type: 'ports', ports: [...held].map((h) => h.port) });
      break;
    case 'teardown': {
      const closed = closeAll();
      send({ type: 'closed', closed });
      process.disconnect?.();
      setTimeout(() => process.exit(0), 50);
      break;
    }
  }
}

process.on('message', (m: ToTlsWorker) => {
  handle(m).catch((err: unknown) => {
    send({
      type: 'error',
      message: err instanceof Error ? err.message : String(err),
      ...(err instanceof FourtupleError ? { code: err.code } : {}),
    });
    if (m.cmd === 'setup') setTimeout(() => process.exit(1), 50);
  });
});

const shutdown = (code: number): void => {
  closeAll();
  process.exit(code);
};
process.on('disconnect', () => shutdown(0));
process.on('error', () => shutdown(0));
process.on('SIGTERM', () => shutdown(143));
process.on('SIGINT', () => shutdown(130));

/**
 * The connection engine inside a `max` worker: connections held as plain descriptors, driven
 * by epoll through the FFI in a tight loop, with no JS object per connection. State lives in
 * typed arrays indexed by descriptor number (a worker never has more descriptors than its
 * RLIMIT_NOFILE, 20000 here), so holding 10,000 connections costs a few hundred KB of JS.
 *
 * One connection = a connecting socket (client) + the socket accept4() returned (server),
 * both in this process when the worker listens itself, or only the client with --target.
 */
import { FourtupleError, SyscallError } from '../errors.js';
import {
  acceptNext,
  bindSource,
  closeFd,
  connectError,
  Epoll,
  limitPortRange,
  listenStream,
  openStream,
  recvNow,
  resetAndClose,
  sendNow,
  startConnect,
  tcpState,
} from '../sockets/descriptors.js';
import { errnoName, errnoNumber } from '../sockets/errno.js';
import { constants } from '../sockets/platform.js';
import { encodeSockAddr } from '../sockets/sockaddr.js';
import { isLoopbackV4, PortCycle, type PortStrategy, rangeSlice, workerSourceIp } from './ports.js';
import { ECHO_PROBE, type FailureKind, type FailureKinds, type Probe } from './probe.js';

const FREE = 0;
const CONNECTING = 1;
const CLIENT = 2;
const SERVER = 3;
const LISTENER = 4;

/** errnos that mean a machine or process limit was reached: the ramp stops there. */
// ECONNREFUSED is a wall too: nothing listens there (on Linux a full accept queue drops the SYN,
// it does not refuse it), so retrying would only spin.
// ETIMEDOUT (our connect timeout): the server answers no SYN, so more connects would only wait.
const WALLS = new Set([
  'EMFILE',
  'ENFILE',
  'ENOBUFS',
  'ENOMEM',
  'EADDRNOTAVAIL',
  'ECONNREFUSED',
  'ETIMEDOUT',
]);

/** A FIN this soon after the connect completed, before any probe, is a refusal (a client cap). */
export const AT_ONCE_MS = 1000;
/** first bytes kept of what a server sent unasked (a refusal's message) */
const KEEP_BYTES = 128;
/** connections whose unasked bytes are kept at once (the first bytes of a refusal) */
const KEEP_CONNECTIONS = 1024;

export interface Destination {
  host: string;
  port: number;
}

export interface Wall {
  errno: string;
  syscall: string;
  /** the destination when the wall is per destination (EADDRNOTAVAIL) */
  destination?: string;
  /** set when the server, not this client, stopped the ramp */
  kind?: FailureKind;
}

export interface EngineStats {
  /** client sockets whose connect completed */
  established: number;
  /** server sockets accept4() returned */
  accepted: number;
  /** connects started and not finished */
  inFlight: number;
  /** connects started */
  attempted: number;
  failures: Record<string, number>;
  /** what servers did to connections and connects, by kind (with their first bytes) */
  kinds: FailureKinds;
  /** established connections lost since (closed, reset, a wrong or missing reply): evidence */
  lost: number;
  wall?: Wall;
}

export interface VerifyResult {
  /** client sockets whose probe was answered as expected (or, --probe none, still open) */
  alive: number;
  /** connections lost since the ramp ended, each on evidence (FIN, RST, error, wrong reply, unanswered) */
  dead: number;
  /** connections not checked before the timeout: neither alive nor dead */
  unverified: number;
  /** server sockets that read the byte and echoed it */
  echoed: number;
  ms: number;
  /** sends that failed outright (the socket was already reset) */
  failedSends?: number;
}

const EVENTS = 1024;
/** an event mask that makes a socket be read until EAGAIN (no event reported it) */
const READ_TO_END = -1;

/** The stats of an engine that has done nothing yet. */
export function emptyStats(): EngineStats {
  return {
    established: 0,
    accepted: 0,
    inFlight: 0,
    attempted: 0,
    failures: {},
    kinds: {},
    lost: 0,
  };
}

export class Engine {
  private readonly c = constants();
  private readonly epoll: Epoll;
  private readonly state: Uint8Array;
  /** verify: 1 while a client waits for its probe's reply */
  private readonly pending: Uint8Array;
  /** verify: bytes of the expected reply matched so far, and of its end */
  private readonly matched: Uint16Array;
  private readonly ended: Uint8Array;
  /** 1 once a probe was sent on the connection (a later FIN is not a refusal) */
  private readonly probed: Uint8Array;
  /**
   * ms since the engine started: while connecting, when the connect started; once established,
   * when it completed (one array: a descriptor is never both)
   */
  private readonly since: Uint32Array;
  /** the destination index each connecting descriptor was sent to (to name a failure's peer) */
  private readonly destOf: Uint16Array;
  /** the first bytes servers sent unasked, by connection (bounded) */
  private readonly unasked = new Map<number, string>();
  private readonly addrs: Buffer[] = [];
  private readonly addrNames: string[] = [];
  private readonly v6: boolean[] = [];
  /** by destination: whether the port strategy applies (127.0.0.0/8 destinations only) */
  private readonly shaped: boolean[] = [];
  private portStrategy: PortStrategy = 'kernel';
  /** bind-no-port: (worker IP, 0); pick: (worker IP, port), its port rewritten per connect */
  private source: Buffer = Buffer.alloc(0);
  private cycle: PortCycle | undefined;
  private slice = { low: 0, high: 0 };
  private readonly scratch = Buffer.alloc(4096);
  private readonly t0 = performance.now();
  private next = 0;
  private probe: Probe = ECHO_PROBE;
  private probeSend = Buffer.from(ECHO_PROBE.send, 'latin1');
  private probeExpect = Buffer.from(ECHO_PROBE.expect, 'latin1');
  private probeEnd = Buffer.alloc(0);
  /** with --target, the server ends are not ours: a server's FIN or RST is its doing */
  private targetMode = false;
  private lostAtRampEnd = 0;
  /** until endRamp: a server's close or reset stops the ramp */
  private inRamp = true;
  private lastSweep = 0;
  /** a connect still in progress after this long fails with ETIMEDOUT (its SYN unanswered) */
  connectTimeoutMs = 5000;
  readonly stats: EngineStats = emptyStats();
  private maxFd = 0;

  /** Sized for descriptors up to `fdCapacity` (+64): the RLIMIT_NOFILE of this process. */
  constructor(fdCapacity: number) {
    const n = fdCapacity + 64;
    this.epoll = new Epoll(EVENTS);
    this.state = new Uint8Array(n);
    this.pending = new Uint8Array(n);
    this.matched = new Uint16Array(n);
    this.ended = new Uint8Array(n);
    this.probed = new Uint8Array(n);
    this.since = new Uint32Array(n);
    this.destOf = new Uint16Array(n);
  }

  /** How connections are checked (default: a one-byte echo). */
  setProbe(p: Probe): void {
    this.probe = p;
    this.probeSend = Buffer.from(p.send, 'latin1');
    this.probeExpect = Buffer.from(p.expect, 'latin1');
    this.probeEnd = Buffer.from(p.end, 'latin1');
  }

  private now(): number {
    return Math.round(performance.now() - this.t0);
  }

  private track(fd: number, s: number): void {
    if (fd >= this.state.length) {
      throw new FourtupleError(
        'FOURTUPLE_FD_LIMIT',
        `descriptor ${fd} beyond the engine's capacity of ${this.state.length} (its RLIMIT_NOFILE was raised after it was made)`,
      );
    }
    this.state[fd] = s;
    if (fd > this.maxFd) this.maxFd = fd;
  }

  private fail(errno: string, syscall: string, destination?: string): void {
    this.stats.failures[errno] = (this.stats.failures[errno] ?? 0) + 1;
    if (!this.stats.wall && WALLS.has(errno)) {
      this.stats.wall = { errno, syscall, ...(destination ? { destination } : {}) };
      if (errno === 'ECONNREFUSED') this.stats.wall.kind = 'refused';
      if (errno === 'ETIMEDOUT') this.stats.wall.kind = 'connect-timeout';
    }
  }

  /** Counts what a server did, by kind, keeping the first bytes and the times (epoch ms). */
  private record(kind: FailureKind, errno?: string, bytes?: string): void {
    const at = Date.now();
    const r = this.stats.kinds[kind];
    if (!r) {
      this.stats.kinds[kind] = {
        count: 1,
        ...(bytes ? { firstBytes: bytes } : {}),
        ...(errno ? { errno } : {}),
        firstAtMs: at,
        lastAtMs: at,
      };
      return;
    }
    r.count++;
    r.lastAtMs = at;
    if (bytes && !r.firstBytes) r.firstBytes = bytes;
  }

  /**
   * An established connection is gone, on evidence: it is counted by kind, closed with an RST
   * (no TIME_WAIT on our side) and forgotten. In the ramp a refusal (closed at once) stops it.
   */
  private lose(fd: number, kind: FailureKind, errno?: string, bytes?: string): void {
    const kept = bytes ?? this.unasked.get(fd);
    this.unasked.delete(fd);
    this.record(kind, errno, kept);
    if (this.pending[fd]) {
      this.pending[fd] = 0;
      this.outstanding--;
    }
    resetAndClose(fd);
    this.state[fd] = FREE;
    this.stats.established--;
    this.stats.lost++;
    // A server that drops connections while the ramp opens them (a refusal, or a close or
    // reset later) is the server's wall: opening more to replace them would only churn.
    const byServer = kind === 'closed-at-once' || kind === 'closed' || kind === 'reset';
    if (byServer && this.targetMode && this.inRamp && !this.stats.wall) {
      this.stats.wall = { errno: errno ?? 'EOF', syscall: 'recv', kind };
    }
  }

  /** Listens on host:0 (the kernel picks a free port); returns the address to connect to. */
  /**
   * Listens on host:0 (the kernel picks a free port); returns the address to connect to.
   * Throws SyscallError (`bind EADDRNOTAVAIL 127.0.0.2:0`) when the kernel refuses.
   */
  listen(host: string, backlog: number): Destination {
    // SO_LINGER {1,0} now, not only in closeAll: accepted sockets inherit it from the
    // listener, so if this worker dies without closeAll (SIGKILL, a crash) the kernel's close
    // of each server end sends an RST, which also ends the client end (both are ours): the
    // crash leaves no TIME_WAIT behind, as a normal teardown does not. Zero cost per connection.
    const { fd, port } = listenStream(host, 0, backlog, { resetOnClose: true });
    this.track(fd, LISTENER);
    const added = this.epoll.add(fd, this.c.EPOLLIN);
    if (added < 0) throw SyscallError.fromErrno('epoll_ctl', -added, host, port);
    return { host, port };
  }

  /**
   * How connections get their source address and port (see ports.ts): `pid` chooses this
   * worker's own source IP and range slice, `ephemeral` is net.ipv4.ip_local_port_range.
   */
  setPortStrategy(
    strategy: PortStrategy,
    pid: number,
    ephemeral: { low: number; high: number },
  ): void {
    this.portStrategy = strategy;
    this.source = encodeSockAddr(workerSourceIp(pid), 0);
    this.cycle = strategy === 'pick' ? new PortCycle(ephemeral) : undefined;
    this.slice = rangeSlice(pid, ephemeral);
    if (strategy === 'ip-local-port-range') {
      // An older kernel (before 6.3) answers ENOPROTOOPT: say so once, at setup, not per connect.
      const fd = openStream(false);
      const r = fd < 0 ? fd : limitPortRange(fd, this.slice.low, this.slice.high);
      if (fd >= 0) closeFd(fd);
      if (r < 0) throw SyscallError.fromErrno('setsockopt(IP_LOCAL_PORT_RANGE)', -r);
    }
  }

  /**
   * Gives a new socket its source as the port strategy says, before its connect to destination
   * `i`: 0, or -errno. pick walks on past ports another socket holds (EADDRINUSE); once
   * every port of the range is taken it is EADDRNOTAVAIL, the wall the kernel would name.
   */
  private prepareSource(fd: number, i: number): number {
    if (this.portStrategy === 'kernel' || !this.shaped[i]) return 0;
    if (this.portStrategy === 'bind-no-port') return bindSource(fd, this.source, true);
    if (this.portStrategy === 'ip-local-port-range') {
      return limitPortRange(fd, this.slice.low, this.slice.high);
    }
    const cycle = this.cycle!;
    for (let tries = 0; tries < cycle.size; tries++) {
      // sin_port, network byte order, at offset 2
      this.source.writeUInt16BE(cycle.take(), 2);
      const r = bindSource(fd, this.source, false);
      if (r === 0 || errnoName(-r) !== 'EADDRINUSE') return r;
    }
    return -(errnoNumber('EADDRNOTAVAIL') ?? 99);
  }

  /** Adds a destination; new connections are spread over destinations round-robin. */
  addDestination(d: Destination, target = false): void {
    this.targetMode ||= target;
    this.addrs.push(encodeSockAddr(d.host, d.port));
    this.addrNames.push(d.host.includes(':') ? `[${d.host}]:${d.port}` : `${d.host}:${d.port}`);
    this.v6.push(d.host.includes(':'));
    this.shaped.push(isLoopbackV4(d.host));
  }

  /** Starts one non-blocking connect. Returns false when a wall stops the ramp. */
  private startOne(): boolean {
    const c = this.c;
    const i = this.next;
    this.next = (i + 1) % this.addrs.length;
    const fd = openStream(this.v6[i]!);
    this.stats.attempted++;
    if (fd < 0) {
      this.fail(errnoName(-fd), 'socket');
      return false;
    }
    const bound = this.prepareSource(fd, i);
    if (bound < 0) {
      closeFd(fd);
      const call = this.portStrategy === 'ip-local-port-range' ? 'setsockopt' : 'bind';
      this.fail(errnoName(-bound), call, this.addrNames[i]);
      return !this.stats.wall;
    }
    const connecting = startConnect(fd, this.addrs[i]!);
    if (connecting < 0) {
      closeFd(fd);
      const e = errnoName(-connecting);
      if (e === 'ECONNREFUSED') this.record('refused', e);
      this.fail(e, 'connect', this.addrNames[i]);
      return !this.stats.wall;
    }
    this.track(fd, CONNECTING);
    this.destOf[fd] = i;
    this.since[fd] = this.now();
    this.probed[fd] = 0;
    // Edge-triggered: EPOLLOUT fires once when the connect finishes, EPOLLIN when a reply (or a
    // server's refusal, EPOLLRDHUP its FIN) arrives; registered until the descriptor is closed.
    const added = this.epoll.add(fd, c.EPOLLOUT | c.EPOLLIN | c.EPOLLRDHUP | c.EPOLLET);
    if (added < 0) {
      this.fail(errnoName(-added), 'epoll_ctl');
      closeFd(fd);
      this.state[fd] = FREE;
      return false;
    }
    this.stats.inFlight++;
    return true;
  }

  /**
   * Connects whose SYN went unanswered for connectTimeoutMs fail with ETIMEDOUT (the kernel's
   * own timeout, tcp_syn_retries, is about two minutes). Checked at most every 100 ms.
   */
  sweepConnects(): void {
    const now = this.now();
    if (now - this.lastSweep < 100 || this.stats.inFlight === 0) return;
    this.lastSweep = now;
    for (let fd = 0; fd <= this.maxFd; fd++) {
      if (this.state[fd] !== CONNECTING) continue;
      if (now - this.since[fd]! < this.connectTimeoutMs) continue;
      closeFd(fd);
      this.state[fd] = FREE;
      this.stats.inFlight--;
      this.record('connect-timeout', 'ETIMEDOUT');
      this.fail('ETIMEDOUT', 'connect', this.addrNames[this.destOf[fd]!]);
    }
  }

  private acceptAll(lfd: number): void {
    const c = this.c;
    for (;;) {
      const fd = acceptNext(lfd);
      if (fd < 0) {
        const e = errnoName(-fd);
        if (e === 'EAGAIN') return;
        this.fail(e, 'accept4');
        if (e === 'EMFILE' || e === 'ENFILE') {
          // The listener is level-triggered and its queue still holds the connection it could
          // not take: left registered, every epoll_wait would wake for it and fail again (a
          // busy loop counting the same wall ~10^5 times a second). Out of descriptors, this
          // worker accepts no more; stop watching the listener.
          this.epoll.remove(lfd);
        }
        return;
      }
      this.track(fd, SERVER);
      this.stats.accepted++;
      const added = this.epoll.add(fd, c.EPOLLIN | c.EPOLLET);
      if (added < 0) this.fail(errnoName(-added), 'epoll_ctl');
    }
  }

  private onClientReady(fd: number, ev: number): void {
    const c = this.c;
    if (ev & c.EPOLLOUT && !(ev & c.EPOLLERR)) {
      this.state[fd] = CLIENT;
      this.stats.inFlight--;
      this.stats.established++;
      this.since[fd] = this.now();
      return;
    }
    if (ev & (c.EPOLLERR | c.EPOLLHUP)) {
      const e = errnoName(connectError(fd));
      closeFd(fd);
      this.state[fd] = FREE;
      this.stats.inFlight--;
      if (e === 'ECONNREFUSED') this.record('refused', e);
      else if (e === 'ETIMEDOUT') this.record('connect-timeout', e);
      else if (e === 'ECONNRESET') this.record('reset', e);
      this.fail(e, 'connect', this.addrNames[this.destOf[fd]!]);
    }
  }

  /**
   * Whether a read of n bytes emptied the socket, so the next recv() would only say EAGAIN:
   * a short read, when the event carried no FIN, hangup or error (those are read to the end).
   * Edge-triggered epoll reports every later arrival as a new event, so stopping here misses
   * nothing, and saves a recv() per socket per event: two of the verify's six calls (28.0 to
   * 24.9 us of CPU a connection, one worker of 9,000).
   */
  private drained(n: number, ev: number): boolean {
    const c = this.c;
    return n < this.scratch.length && !(ev & (c.EPOLLRDHUP | c.EPOLLHUP | c.EPOLLERR));
  }

  /** Echo side of verify: a server socket read the bytes, so it sends them back. */
  private onServerReadable(fd: number, ev: number): void {
    for (;;) {
      const n = recvNow(fd, this.scratch);
      if (n <= 0) return;
      sendNow(fd, this.scratch, n);
      this.echoed++;
      if (this.drained(n, ev)) return;
    }
  }

  private echoed = 0;
  private alive = 0;
  /** verify: replies awaited right now */
  private outstanding = 0;

  /**
   * A client socket has something to read: its probe's reply (matched against the expected
   * prefix, then read to its end, through a fixed 4 KiB buffer: nothing is kept but counters),
   * bytes the server sent unasked (the first 128 kept: a refusal's message), a FIN or an error.
   */
  private onClientReadable(fd: number, ev: number): void {
    for (;;) {
      if (this.state[fd] !== CLIENT) return;
      const n = recvNow(fd, this.scratch);
      if (n > 0) {
        if (this.pending[fd]) this.consumeReply(fd, n);
        else if (!this.unasked.has(fd) && this.unasked.size < KEEP_CONNECTIONS) {
          this.unasked.set(fd, this.scratch.toString('latin1', 0, Math.min(n, KEEP_BYTES)));
        }
        if (this.drained(n, ev)) return;
        continue;
      }
      if (n === 0) {
        const atOnce =
          this.targetMode && !this.probed[fd] && this.now() - this.since[fd]! < AT_ONCE_MS;
        this.lose(fd, atOnce ? 'closed-at-once' : 'closed');
        return;
      }
      const e = errnoName(-n);
      if (e === 'EAGAIN' || e === 'EWOULDBLOCK' || e === 'EINTR') return;
      this.lose(fd, e === 'ECONNRESET' ? 'reset' : 'error', e);
      return;
    }
  }

  /** n bytes of a probe's reply in scratch: matched, then read to the reply's end. */
  private consumeReply(fd: number, n: number): void {
    const expect = this.probeExpect;
    const end = this.probeEnd;
    for (let k = 0; k < n; k++) {
      const b = this.scratch[k]!;
      const m = this.matched[fd]!;
      if (m < expect.length) {
        if (b !== expect[m]) {
          this.lose(
            fd,
            'wrong-reply',
            undefined,
            this.scratch.toString('latin1', 0, Math.min(n, KEEP_BYTES)),
          );
          return;
        }
        this.matched[fd] = m + 1;
      } else if (end.length) {
        const e = this.ended[fd]!;
        this.ended[fd] = b === end[e] ? e + 1 : b === end[0] ? 1 : 0;
      }
      if (
        this.matched[fd] === expect.length &&
        (end.length === 0 || this.ended[fd] === end.length)
      ) {
        // The reply is complete; whatever follows in this read is drained and dropped.
        this.pending[fd] = 0;
        this.alive++;
        this.outstanding--;
        return;
      }
    }
  }

  /** One epoll_wait and the work it hands us; returns the number of events. */
  poll(timeoutMs: number): number {
    const n = this.epoll.wait(timeoutMs);
    const c = this.c;
    const readable = c.EPOLLIN | c.EPOLLRDHUP | c.EPOLLHUP | c.EPOLLERR;
    for (let k = 0; k < n; k++) {
      const ev = this.epoll.eventsAt(k);
      const fd = this.epoll.fdAt(k);
      const s = this.state[fd];
      if (s === LISTENER) this.acceptAll(fd);
      else if (s === CONNECTING) {
        this.onClientReady(fd, ev);
        if (ev & readable && this.state[fd] === CLIENT) this.onClientReadable(fd, ev);
      } else if (s === SERVER) {
        if (ev & c.EPOLLIN) this.onServerReadable(fd, ev);
      } else if (s === CLIENT) {
        if (ev & readable) this.onClientReadable(fd, ev);
      }
    }
    return n;
  }

  /**
   * Runs the ramp for at most `sliceMs`: keeps up to `window` connects in flight until `target`
   * connections are established (or `allowed` starts, for --rate). Returns true when done.
   */
  rampSlice(target: number, window: number, allowed: number, sliceMs: number): boolean {
    const until = performance.now() + sliceMs;
    const s = this.stats;
    do {
      while (
        !s.wall &&
        s.inFlight < window &&
        s.established + s.inFlight < target &&
        s.attempted < allowed
      ) {
        if (!this.startOne()) break;
      }
      const waiting =
        s.inFlight > 0 && (s.inFlight >= window || s.established + s.inFlight >= target);
      this.poll(waiting ? 1 : 0);
      this.sweepConnects();
      if (s.wall || s.established >= target) break;
      if (s.attempted >= allowed && s.inFlight === 0) break;
    } while (performance.now() < until);
    return Boolean(s.wall) || s.established >= target;
  }

  /** The ramp is over: connections lost from now on are dead (verify counts them). */
  endRamp(): void {
    this.inRamp = false;
    this.lostAtRampEnd = this.stats.lost;
  }

  /**
   * Sends the probe on every established client socket (for echo, each server socket of ours
   * echoes it) and counts the clients whose reply arrived, complete and as expected, before
   * `timeoutMs`. At most `window` replies are awaited at once: a byte sent on a million sockets
   * at the same moment would hold a million queued buffers and push TCP past net.ipv4.tcp_mem,
   * where the kernel starts dropping.
   *
   * A connection is dead only on evidence: a FIN, an RST, an error, a wrong reply, or no reply
   * for `stallMs` while nothing else arrived and its peer's kernel acknowledged the probe (the
   * peer is alive, its program is not answering). One the verify did not reach in time, or whose
   * reply was still due at the timeout, is unverified.
   */
  async verify(
    timeoutMs: number,
    window = 512,
    stallMs = 3000,
    sliceMs = 20,
  ): Promise<VerifyResult> {
    if (this.probe.kind === 'none') return this.verifyOpen(timeoutMs);
    const t0 = performance.now();
    this.alive = 0;
    this.echoed = 0;
    this.outstanding = 0;
    let failedSends = 0;
    let unsent = 0;
    let cursor = 0;
    const sendMore = (): void => {
      while (this.outstanding < window && cursor <= this.maxFd) {
        const fd = cursor++;
        if (this.state[fd] !== CLIENT) continue;
        this.matched[fd] = 0;
        this.ended[fd] = 0;
        this.probed[fd] = 1;
        const sent = sendNow(fd, this.probeSend, this.probeSend.length);
        if (sent === this.probeSend.length) {
          this.pending[fd] = 1;
          this.outstanding++;
        } else if (sent < 0 && errnoName(-sent) !== 'EAGAIN') {
          failedSends++;
          const e = errnoName(-sent);
          this.lose(fd, e === 'ECONNRESET' || e === 'EPIPE' ? 'reset' : 'error', e);
        } else unsent++; // a full send buffer: not checked, so unverified
      }
    };
    const deadline = t0 + timeoutMs;
    // On loopback an echo takes microseconds: when nothing has arrived for `stallMs`, the rest
    // will not (a client whose server end was never accepted, after EMFILE, has nobody to echo).
    let lastProgress = performance.now();
    let seen = 0;
    let stalled = false;
    for (;;) {
      sendMore();
      if (this.outstanding === 0 && cursor > this.maxFd) break;
      if (performance.now() >= deadline) break;
      const until = performance.now() + sliceMs;
      while (this.outstanding > 0 && performance.now() < until) {
        this.poll(1);
        sendMore();
      }
      if (this.alive + this.echoed + this.stats.lost !== seen) {
        seen = this.alive + this.echoed + this.stats.lost;
        lastProgress = performance.now();
      } else if (performance.now() - lastProgress > stallMs) {
        stalled = true;
        break;
      }
      await new Promise((r) => setImmediate(r));
    }
    let unverified = unsent;
    for (let fd = 0; fd <= this.maxFd; fd++) {
      if (this.state[fd] !== CLIENT) continue;
      if (fd >= cursor) unverified++;
      else if (this.pending[fd]) {
        const info = tcpState(fd);
        const acked = typeof info !== 'number' && info.state === 1 && info.unacked === 0;
        if (stalled && acked) this.lose(fd, 'unanswered');
        else {
          this.pending[fd] = 0;
          unverified++;
        }
      }
    }
    this.outstanding = 0;
    return {
      alive: this.alive,
      dead: this.stats.lost - this.lostAtRampEnd,
      unverified,
      echoed: this.echoed,
      ms: Math.round(performance.now() - t0),
      ...(failedSends ? { failedSends } : {}),
    };
  }

  /**
   * --probe none: a connection is alive when it is still open: a read gives EAGAIN (bytes the
   * server sent are read and dropped), no FIN or RST, and TCP_INFO says ESTABLISHED.
   */
  private async verifyOpen(timeoutMs: number): Promise<VerifyResult> {
    const t0 = performance.now();
    let alive = 0;
    let fd = 0;
    for (; fd <= this.maxFd; fd++) {
      if ((fd & 1023) === 0) {
        if (performance.now() - t0 > timeoutMs) break;
        this.poll(0);
        await new Promise((r) => setImmediate(r));
      }
      if (this.state[fd] !== CLIENT) continue;
      this.probed[fd] = 1;
      this.onClientReadable(fd, READ_TO_END);
      if (this.state[fd] !== CLIENT) continue;
      const info = tcpState(fd);
      if (typeof info === 'number') this.lose(fd, 'error', errnoName(-info));
      else if (info.state !== 1) this.lose(fd, 'closed');
      else alive++;
    }
    let unverified = 0;
    for (; fd <= this.maxFd; fd++) if (this.state[fd] === CLIENT) unverified++;
    return {
      alive,
      dead: this.stats.lost - this.lostAtRampEnd,
      unverified,
      echoed: 0,
      ms: Math.round(performance.now() - t0),
    };
  }

  /**
   * Closes every socket with an RST, so no TIME_WAIT is left anywhere. When every client's
   * server end is ours (accepted here), the server ends go first: they inherited SO_LINGER
   * {1,0} from the listener, so a plain close() resets them, and each RST moves its client to
   * CLOSED, which a plain close() then frees. Two syscalls a connection instead of four (a
   * setsockopt before each close): measured, 19.8 to 15.6 us of CPU a connection. Otherwise (a
   * target's server ends are not ours, or some were never accepted) each client is reset with
   * its own SO_LINGER first.
   */
  closeAll(): number {
    let closed = 0;
    let clients = 0;
    for (let fd = 0; fd <= this.maxFd; fd++) if (this.state[fd] === CLIENT) clients++;
    const serversFirst = !this.targetMode && this.stats.accepted >= clients;
    const close = (pass: number, reset: boolean): void => {
      for (let fd = 0; fd <= this.maxFd; fd++) {
        if (this.state[fd] !== pass) continue;
        if (reset) resetAndClose(fd);
        else closeFd(fd);
        this.state[fd] = FREE;
        closed++;
      }
    };
    close(CONNECTING, true);
    if (serversFirst) {
      close(SERVER, false);
      close(CLIENT, false);
    } else {
      // Reset the clients first: each RST also moves its server socket to CLOSED.
      close(CLIENT, true);
      close(SERVER, true);
    }
    close(LISTENER, true);
    this.stats.inFlight = 0;
    return closed;
  }

  /** Closes the epoll instance too (after closeAll). */
  dispose(): void {
    this.epoll.close();
  }
}

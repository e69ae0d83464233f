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
  closeFd,
  connectError,
  Epoll,
  listenStream,
  openStream,
  recvNow,
  resetAndClose,
  sendNow,
  startConnect,
} from '../sockets/descriptors.js';
import { errnoName } from '../sockets/errno.js';
import { constants } from '../sockets/platform.js';
import { encodeSockAddr } from '../sockets/sockaddr.js';

const FREE = 0;
const CONNECTING = 1;
const CLIENT = 2;
const SERVER = 3;
const LISTENER = 4;

/** errnos that mean a machine or process limit was reached: the ramp stops there. */
// ECONNREFUSED is a wall too: nothing listens there (on Linux a full accept queue drops the SYN,
// it does not refuse it), so retrying would only spin.
const WALLS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL', 'ECONNREFUSED']);

export interface Destination {
  host: string;
  port: number;
}

export interface Wall {
  errno: string;
  syscall: string;
  /** the destination when the wall is per destination (EADDRNOTAVAIL) */
  destination?: string;
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
  wall?: Wall;
}

export interface VerifyResult {
  /** client sockets that sent a byte and read an echo */
  alive: number;
  dead: number;
  /** server sockets that read the byte and echoed it */
  echoed: number;
  ms: number;
  /** sends that failed outright (the socket was already reset) */
  failedSends?: number;
}

const EVENTS = 1024;

export class Engine {
  private readonly c = constants();
  private readonly epoll: Epoll;
  private readonly state: Uint8Array;
  /** verify: 1 while a client waits for its echo */
  private readonly pending: Uint8Array;
  /** the destination index each connecting descriptor was sent to (to name a failure's peer) */
  private readonly destOf: Uint16Array;
  private readonly addrs: Buffer[] = [];
  private readonly addrNames: string[] = [];
  private readonly v6: boolean[] = [];
  private readonly one = Buffer.from('x');
  private readonly scratch = Buffer.alloc(64);
  private next = 0;
  readonly stats: EngineStats = {
    established: 0,
    accepted: 0,
    inFlight: 0,
    attempted: 0,
    failures: {},
  };
  private maxFd = 0;

  /** Sized for descriptors up to `fdCapacity` (+64): the RLIMIT_NOFILE of this process. */
  constructor(fdCapacity: number) {
    this.epoll = new Epoll(EVENTS);
    this.state = new Uint8Array(fdCapacity + 64);
    this.pending = new Uint8Array(fdCapacity + 64);
    this.destOf = new Uint16Array(fdCapacity + 64);
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

  /** Adds a destination; new connections are spread over destinations round-robin. */
  addDestination(d: Destination): void {
    this.addrs.push(encodeSockAddr(d.host, d.port));
    this.addrNames.push(d.host.includes(':') ? `[${d.host}]:${d.port}` : `${d.host}:${d.port}`);
    this.v6.push(d.host.includes(':'));
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
    const connecting = startConnect(fd, this.addrs[i]!);
    if (connecting < 0) {
      closeFd(fd);
      this.fail(errnoName(-connecting), 'connect', this.addrNames[i]);
      return !this.stats.wall;
    }
    this.track(fd, CONNECTING);
    this.destOf[fd] = i;
    // Edge-triggered: EPOLLOUT fires once when the connect finishes, EPOLLIN when an echo
    // arrives during verify; the descriptor stays registered until it is closed.
    const added = this.epoll.add(fd, c.EPOLLOUT | c.EPOLLIN | c.EPOLLET);
    if (added < 0) {
      this.fail(errnoName(-added), 'epoll_ctl');
      closeFd(fd);
      this.state[fd] = FREE;
      return false;
    }
    this.stats.inFlight++;
    return true;
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
    if (ev & (c.EPOLLERR | c.EPOLLHUP)) {
      const e = connectError(fd);
      closeFd(fd);
      this.state[fd] = FREE;
      this.stats.inFlight--;
      this.fail(errnoName(e), 'connect', this.addrNames[this.destOf[fd]!]);
      return;
    }
    if (ev & c.EPOLLOUT) {
      this.state[fd] = CLIENT;
      this.stats.inFlight--;
      this.stats.established++;
    }
  }

  /** Echo side of verify: a server socket read the byte, so it sends it back. */
  private onServerReadable(fd: number): void {
    const n = recvNow(fd, this.scratch);
    if (n > 0) {
      sendNow(fd, this.scratch, n);
      this.echoed++;
    }
  }

  private echoed = 0;
  private alive = 0;
  /** verify: echoes awaited right now */
  private outstanding = 0;

  private onClientReadable(fd: number): void {
    if (!this.pending[fd]) return;
    const n = recvNow(fd, this.scratch);
    if (n > 0) {
      this.pending[fd] = 0;
      this.alive++;
      this.outstanding--;
    }
  }

  /** One epoll_wait and the work it hands us; returns the number of events. */
  poll(timeoutMs: number): number {
    const n = this.epoll.wait(timeoutMs);
    const c = this.c;
    for (let k = 0; k < n; k++) {
      const ev = this.epoll.eventsAt(k);
      const fd = this.epoll.fdAt(k);
      const s = this.state[fd];
      if (s === LISTENER) this.acceptAll(fd);
      else if (s === CONNECTING) {
        this.onClientReady(fd, ev);
        if (ev & c.EPOLLIN && this.state[fd] === CLIENT) this.onClientReadable(fd);
      } else if (s === SERVER) {
        if (ev & c.EPOLLIN) this.onServerReadable(fd);
      } else if (s === CLIENT) {
        if (ev & c.EPOLLIN) this.onClientReadable(fd);
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
      if (s.wall || s.established >= target) break;
      if (s.attempted >= allowed && s.inFlight === 0) break;
    } while (performance.now() < until);
    return Boolean(s.wall) || s.established >= target;
  }

  /**
   * Sends one byte on every established client socket; each server socket echoes it; counts
   * the clients that read their echo before `timeoutMs`. At most `window` echoes are awaited at
   * once: a byte sent on a million sockets at the same moment would hold a million queued
   * buffers and push TCP past net.ipv4.tcp_mem, where the kernel starts dropping.
   */
  async verify(
    timeoutMs: number,
    window = 512,
    stallMs = 3000,
    sliceMs = 20,
  ): Promise<VerifyResult> {
    const t0 = performance.now();
    this.alive = 0;
    this.echoed = 0;
    this.outstanding = 0;
    let expected = 0;
    let failedSends = 0;
    let cursor = 0;
    const sendMore = (): void => {
      while (this.outstanding < window && cursor <= this.maxFd) {
        const fd = cursor++;
        if (this.state[fd] !== CLIENT) continue;
        expected++;
        if (sendNow(fd, this.one, 1) === 1) {
          this.pending[fd] = 1;
          this.outstanding++;
        } else failedSends++;
      }
    };
    const deadline = t0 + timeoutMs;
    // On loopback an echo takes microseconds: when nothing has arrived for `stallMs`, the rest
    // will not (a client whose server end was never accepted, after EMFILE, has nobody to echo).
    let lastProgress = performance.now();
    let seen = 0;
    for (;;) {
      sendMore();
      if (this.outstanding === 0 && cursor > this.maxFd) break;
      if (performance.now() >= deadline) break;
      const until = performance.now() + sliceMs;
      while (this.outstanding > 0 && performance.now() < until) {
        this.poll(1);
        sendMore();
      }
      if (this.alive + this.echoed !== seen) {
        seen = this.alive + this.echoed;
        lastProgress = performance.now();
      } else if (performance.now() - lastProgress > stallMs) break;
      await new Promise((r) => setImmediate(r));
    }
    // Whatever was not reached in time (or never sent) counts as dead.
    for (let fd = cursor; fd <= this.maxFd; fd++) if (this.state[fd] === CLIENT) expected++;
    for (let fd = 0; fd <= this.maxFd; fd++) this.pending[fd] = 0;
    return {
      alive: this.alive,
      dead: expected - this.alive,
      echoed: this.echoed,
      ms: Math.round(performance.now() - t0),
      ...(failedSends ? { failedSends } : {}),
    };
  }

  /** Closes every socket: clients with SO_LINGER {1,0} (an RST, so no TIME_WAIT anywhere). */
  closeAll(): number {
    let closed = 0;
    // Reset the clients first: each RST also moves its server socket to CLOSED.
    for (const pass of [CONNECTING, CLIENT, SERVER, LISTENER]) {
      for (let fd = 0; fd <= this.maxFd; fd++) {
        if (this.state[fd] !== pass) continue;
        resetAndClose(fd);
        this.state[fd] = FREE;
        closed++;
      }
    }
    this.stats.inFlight = 0;
    return closed;
  }

  /** Closes the epoll instance too (after closeAll). */
  dispose(): void {
    this.epoll.close();
  }
}

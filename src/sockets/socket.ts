/**
 * A TCP socket whose every option fourtuple controls, made with libc calls rather than
 * node:net (libuv always sets SO_REUSEADDR before bind, so `net` cannot show what happens
 * without it). Non-blocking from birth; connect is awaited on epoll, never by a sleep. A
 * socket can be handed to node:net (toNetSocket / toNetServer) when a conversation is needed.
 */
import net from 'node:net';
import { FourtupleError, SyscallError } from '../errors.js';
import { errnoMeaning, errnoName } from './errno.js';
import { libc } from './libc.js';
import { constants } from './platform.js';
import { waitReady } from './poller.js';
import { decodeSockAddr, encodeSockAddr, type SockAddr } from './sockaddr.js';

export interface SocketOptions {
  /** SO_REUSEADDR: bind to a local address:port that a non-listening socket already holds */
  reuseaddr?: boolean;
  /** SO_REUSEPORT: share a local address:port with other sockets that also set it (same uid) */
  reuseport?: boolean;
  /** IP_BIND_ADDRESS_NO_PORT: bind(ip, 0) defers choosing the port until connect() */
  bindAddressNoPort?: boolean;
  /** SO_LINGER: {on, seconds}; {on: true, seconds: 0} makes close() send an RST */
  linger?: { on: boolean; seconds: number };
  /** TCP_NODELAY: send small writes at once (no Nagle) */
  nodelay?: boolean;
  /** IPV6_V6ONLY: an IPv6 socket refuses IPv4-mapped peers */
  v6only?: boolean;
}

export type OptionName = keyof SocketOptions;

/** The errno a failed call left, as a SyscallError naming the call and the address. */
export function lastError(syscall: string, address?: string, port?: number): SyscallError {
  const e = libc().errno();
  return SyscallError.fromErrno(syscall, e, address, port);
}

function intBuf(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b;
}

function familyOf(address: string): 4 | 6 {
  const f = net.isIP(address);
  if (f === 0) throw new TypeError(`not an IP address: ${address}`);
  return f as 4 | 6;
}

export class RawSocket {
  private open = true;

  private constructor(
    readonly fd: number,
    readonly family: 4 | 6,
  ) {}

  /** socket(AF_INET or AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC) with options set. */
  static create(family: 4 | 6, options: SocketOptions = {}): RawSocket {
    const c = constants();
    const fd = libc().socket(
      family === 4 ? c.AF_INET : c.AF_INET6,
      c.SOCK_STREAM | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC,
      0,
    );
    if (fd < 0) throw lastError('socket');
    const s = new RawSocket(fd, family);
    try {
      s.setOptions(options);
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  }

  /** Wraps a descriptor the kernel handed us (accept4). */
  static adopt(fd: number, family: 4 | 6): RawSocket {
    return new RawSocket(fd, family);
  }

  /** For a family given by an address: create(familyOf(address), options). */
  static forAddress(address: string, options: SocketOptions = {}): RawSocket {
    return RawSocket.create(familyOf(address), options);
  }

  get isOpen(): boolean {
    return this.open;
  }

  private check(): void {
    if (!this.open) {
      throw new FourtupleError('FOURTUPLE_SOCKET_CLOSED', `socket ${this.fd} is closed`);
    }
  }

  /** Sets each option present in `options` (true turns it on, false turns it off). */
  setOptions(options: SocketOptions): void {
    const c = constants();
    const flag = (level: number, name: number, on: boolean | undefined, label: string): void => {
      if (on === undefined) return;
      if (libc().setsockopt(this.fd, level, name, intBuf(on ? 1 : 0), 4) < 0) {
        throw lastError(`setsockopt(${label})`);
      }
    };
    flag(c.SOL_SOCKET, c.SO_REUSEADDR, options.reuseaddr, 'SO_REUSEADDR');
    flag(c.SOL_SOCKET, c.SO_REUSEPORT, options.reuseport, 'SO_REUSEPORT');
    flag(c.IPPROTO_TCP, c.TCP_NODELAY, options.nodelay, 'TCP_NODELAY');
    if (this.family === 4) {
      flag(
        c.IPPROTO_IP,
        c.IP_BIND_ADDRESS_NO_PORT,
        options.bindAddressNoPort,
        'IP_BIND_ADDRESS_NO_PORT',
      );
    } else {
      // IP_BIND_ADDRESS_NO_PORT is an IPPROTO_IP option; Linux honours it on IPv6 sockets too.
      flag(
        c.IPPROTO_IP,
        c.IP_BIND_ADDRESS_NO_PORT,
        options.bindAddressNoPort,
        'IP_BIND_ADDRESS_NO_PORT',
      );
      flag(c.IPPROTO_IPV6, c.IPV6_V6ONLY, options.v6only, 'IPV6_V6ONLY');
    }
    if (options.linger) {
      const b = Buffer.alloc(8);
      b.writeInt32LE(options.linger.on ? 1 : 0, 0);
      b.writeInt32LE(options.linger.seconds, 4);
      if (libc().setsockopt(this.fd, c.SOL_SOCKET, c.SO_LINGER, b, 8) < 0) {
        throw lastError('setsockopt(SO_LINGER)');
      }
    }
  }

  /** Reads an integer socket option (SO_REUSEADDR, SO_ERROR, ...). */
  getIntOption(level: number, name: number, label: string): number {
    const v = Buffer.alloc(4);
    const len = intBuf(4);
    if (libc().getsockopt(this.fd, level, name, v, len) < 0)
      throw lastError(`getsockopt(${label})`);
    return v.readInt32LE(0);
  }

  /** The options as the kernel holds them now. */
  getOptions(): Required<Omit<SocketOptions, 'linger'>> & {
    linger: { on: boolean; seconds: number };
  } {
    const c = constants();
    const lb = Buffer.alloc(8);
    const len = intBuf(8);
    if (libc().getsockopt(this.fd, c.SOL_SOCKET, c.SO_LINGER, lb, len) < 0) {
      throw lastError('getsockopt(SO_LINGER)');
    }
    return {
      reuseaddr: this.getIntOption(c.SOL_SOCKET, c.SO_REUSEADDR, 'SO_REUSEADDR') !== 0,
      reuseport: this.getIntOption(c.SOL_SOCKET, c.SO_REUSEPORT, 'SO_REUSEPORT') !== 0,
      nodelay: this.getIntOption(c.IPPROTO_TCP, c.TCP_NODELAY, 'TCP_NODELAY') !== 0,
      bindAddressNoPort:
        this.getIntOption(c.IPPROTO_IP, c.IP_BIND_ADDRESS_NO_PORT, 'IP_BIND_ADDRESS_NO_PORT') !== 0,
      v6only:
        this.family === 6 && this.getIntOption(c.IPPROTO_IPV6, c.IPV6_V6ONLY, 'IPV6_V6ONLY') !== 0,
      linger: { on: lb.readInt32LE(0) !== 0, seconds: lb.readInt32LE(4) },
    };
  }

  bind(address: string, port: number): void {
    this.check();
    const sa = encodeSockAddr(address, port);
    if (libc().bind(this.fd, sa, sa.length) < 0) throw lastError('bind', address, port);
  }

  listen(backlog = 511): void {
    this.check();
    if (libc().listen(this.fd, backlog) < 0) throw lastError('listen');
  }

  /**
   * Starts a non-blocking connect. Returns true when it completed at once (a self-connect on
   * loopback can), false when it is in progress; throws on an immediate failure.
   */
  connectStart(address: string, port: number): boolean {
    this.check();
    const sa = encodeSockAddr(address, port);
    if (libc().connect(this.fd, sa, sa.length) === 0) return true;
    const e = libc().errno();
    if (errnoName(e) === 'EINPROGRESS') return false;
    throw SyscallError.fromErrno('connect', e, address, port);
  }

  /** The pending error of a finished non-blocking connect (SO_ERROR), 0 when it succeeded. */
  pendingError(): number {
    const c = constants();
    return this.getIntOption(c.SOL_SOCKET, c.SO_ERROR, 'SO_ERROR');
  }

  /**
   * connect() and wait for it to finish (writable on epoll, then SO_ERROR), or fail with the
   * errno the kernel reported. `timeoutMs` bounds the wait (ETIMEDOUT).
   */
  async connect(
    address: string,
    port: number,
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    if (this.connectStart(address, port)) return;
    await waitReady(this.fd, constants().EPOLLOUT, opts.timeoutMs ?? 10_000, opts.signal);
    const err = this.pendingError();
    if (err !== 0) {
      throw SyscallError.fromErrno('connect', err, address, port);
    }
  }

  /** Accepts one pending connection, or undefined when none is waiting (EAGAIN). */
  accept(): RawSocket | undefined {
    this.check();
    const c = constants();
    const fd = libc().accept4(this.fd, null, null, c.SOCK_NONBLOCK | c.SOCK_CLOEXEC);
    if (fd >= 0) return new RawSocket(fd, this.family);
    const e = libc().errno();
    const name = errnoName(e);
    if (name === 'EAGAIN' || name === 'EWOULDBLOCK') return undefined;
    throw new SyscallError('accept4', name, e, errnoMeaning(e));
  }

  /** Waits until a connection is ready to accept (or the timeout/signal fires). */
  async waitAcceptable(timeoutMs?: number, signal?: AbortSignal): Promise<void> {
    await waitReady(this.fd, constants().EPOLLIN, timeoutMs, signal);
  }

  private name(fn: 'getsockname' | 'getpeername'): SockAddr {
    this.check();
    const buf = Buffer.alloc(constants().SOCKADDR_STORAGE_SIZE);
    const len = intBuf(buf.length);
    if (libc()[fn](this.fd, buf, len) < 0) throw lastError(fn);
    return decodeSockAddr(buf);
  }

  /** getsockname(): the local address and port. */
  localAddress(): SockAddr {
    return this.name('getsockname');
  }

  /** getpeername(): the remote address and port (ENOTCONN when not connected). */
  remoteAddress(): SockAddr {
    return this.name('getpeername');
  }

  /** Sends bytes without blocking; returns how many were sent (0 when the buffer is full). */
  send(data: Buffer): number {
    this.check();
    const c = constants();
    const n = libc().send(this.fd, data, data.length, c.MSG_DONTWAIT | c.MSG_NOSIGNAL);
    if (n >= 0) return Number(n);
    const e = libc().errno();
    if (errnoName(e) === 'EAGAIN') return 0;
    throw SyscallError.fromErrno('send', e);
  }

  /** Receives up to `into.length` bytes without blocking: bytes read, 0 at EOF, -1 if none yet. */
  recv(into: Buffer): number {
    this.check();
    const n = Number(libc().recv(this.fd, into, into.length, constants().MSG_DONTWAIT));
    if (n >= 0) return n;
    const e = libc().errno();
    if (errnoName(e) === 'EAGAIN') return -1;
    throw SyscallError.fromErrno('recv', e);
  }

  shutdownWrite(): void {
    if (this.open) libc().shutdown(this.fd, constants().SHUT_WR);
  }

  /** close(): an orderly close (FIN), leaving TIME_WAIT on the side that closes first. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    libc().close(this.fd);
  }

  /** SO_LINGER {1, 0} then close(): the kernel sends an RST and keeps no TIME_WAIT. */
  closeReset(): void {
    if (!this.open) return;
    try {
      this.setOptions({ linger: { on: true, seconds: 0 } });
    } catch {
      // an fd the peer already reset may refuse options; close it all the same
    }
    this.close();
  }

  /**
   * Hands the descriptor to node:net for I/O on libuv's loop. The RawSocket no longer owns it:
   * the net.Socket closes it.
   */
  toNetSocket(): net.Socket {
    this.check();
    this.open = false;
    return new net.Socket({ fd: this.fd, readable: true, writable: true });
  }

  /** Hands a listening descriptor to a net.Server, which accepts on libuv's loop. */
  toNetServer(server: net.Server): Promise<void> {
    this.check();
    this.open = false;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd: this.fd }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }
}

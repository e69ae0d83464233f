/**
 * Socket calls on plain descriptor numbers, for a holder that keeps thousands of connections
 * with no object per socket (the `max` engine, and `limits` measuring what it costs). Nothing is
 * allocated per call. In the hot path (socket, connect, accept4, send, recv, epoll) a failure is
 * returned as a negative errno, not thrown: at a wall the holder counts failures by the
 * thousand, and an exception each would cost more than the call. Setting up (a listener, an
 * epoll instance) throws SyscallError.
 */
import { SyscallError } from '../errors.js';
import { errnoNumber } from './errno.js';
import { libc } from './libc.js';
import { constants } from './platform.js';
import { IP_LOCAL_PORT_RANGE } from './portrange.js';
import { encodeSockAddr } from './sockaddr.js';

const EINPROGRESS = errnoNumber('EINPROGRESS') ?? 115;

/** scratch for getsockopt(SO_ERROR): value and length */
const soError = Buffer.alloc(4);
const soErrorLen = Buffer.alloc(4);
/** struct linger {l_onoff = 1, l_linger = 0}: close() sends an RST */
const lingerReset = Buffer.alloc(8);
lingerReset.writeInt32LE(1, 0);
lingerReset.writeInt32LE(0, 4);

/** -errno of the call that just failed */
function failed(): number {
  return -libc().errno();
}

/** socket(AF_INET or AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC): the fd, or -errno. */
export function openStream(v6: boolean): number {
  const c = constants();
  const fd = libc().socket(
    v6 ? c.AF_INET6 : c.AF_INET,
    c.SOCK_STREAM | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC,
    0,
  );
  return fd < 0 ? failed() : fd;
}

/**
 * Starts a non-blocking connect to an encoded sockaddr: 0 when it is under way (EINPROGRESS)
 * or already done, else -errno.
 */
export function startConnect(fd: number, sockaddr: Buffer): number {
  if (libc().connect(fd, sockaddr, sockaddr.length) === 0) return 0;
  const e = libc().errno();
  return e === EINPROGRESS ? 0 : -e;
}

/** 1, as the int a boolean socket option takes */
const optOne = Buffer.alloc(4);
optOne.writeInt32LE(1, 0);
/** IP_LOCAL_PORT_RANGE's value: high << 16 | low */
const portRange = Buffer.alloc(4);

/**
 * bind() to an encoded sockaddr before connect: 0, or -errno. With `noPort`, the socket first
 * sets IP_BIND_ADDRESS_NO_PORT, so bind(ip, 0) fixes only the address and connect() picks the
 * port for the full 4-tuple (without it, bind(ip, 0) reserves a port for every destination).
 */
export function bindSource(fd: number, sockaddr: Buffer, noPort: boolean): number {
  const c = constants();
  if (noPort && libc().setsockopt(fd, c.IPPROTO_IP, c.IP_BIND_ADDRESS_NO_PORT, optOne, 4) < 0) {
    return failed();
  }
  return libc().bind(fd, sockaddr, sockaddr.length) < 0 ? failed() : 0;
}

/**
 * IP_LOCAL_PORT_RANGE (Linux 6.3+): connect() picks this socket's port from
 * [low, high] only. 0, or -errno (ENOPROTOOPT on an older kernel).
 */
export function limitPortRange(fd: number, low: number, high: number): number {
  portRange.writeUInt32LE((((high & 0xffff) << 16) | (low & 0xffff)) >>> 0, 0);
  const c = constants();
  return libc().setsockopt(fd, c.IPPROTO_IP, IP_LOCAL_PORT_RANGE, portRange, 4) < 0 ? failed() : 0;
}

/** accept4(SOCK_NONBLOCK | SOCK_CLOEXEC): the new fd, or -errno (-EAGAIN: the queue is empty). */
export function acceptNext(lfd: number): number {
  const c = constants();
  const fd = libc().accept4(lfd, null, null, c.SOCK_NONBLOCK | c.SOCK_CLOEXEC);
  return fd < 0 ? failed() : fd;
}

/** Why a connect failed: SO_ERROR, or the errno of getsockopt itself when that fails. */
export function connectError(fd: number): number {
  const c = constants();
  soError.writeInt32LE(0, 0);
  soErrorLen.writeUInt32LE(4, 0);
  libc().getsockopt(fd, c.SOL_SOCKET, c.SO_ERROR, soError, soErrorLen);
  return soError.readInt32LE(0) || libc().errno();
}

/** send(MSG_DONTWAIT | MSG_NOSIGNAL): bytes sent, or -errno. */
export function sendNow(fd: number, buf: Buffer, length: number): number {
  const c = constants();
  const n = Number(libc().send(fd, buf, length, c.MSG_DONTWAIT | c.MSG_NOSIGNAL));
  return n < 0 ? failed() : n;
}

/** recv(MSG_DONTWAIT) into `buf`: bytes read (0 at the peer's FIN), or -errno. */
export function recvNow(fd: number, buf: Buffer): number {
  const n = Number(libc().recv(fd, buf, buf.length, constants().MSG_DONTWAIT));
  return n < 0 ? failed() : n;
}

export function closeFd(fd: number): void {
  libc().close(fd);
}

/** SO_LINGER {1, 0}, then close(): the kernel sends an RST, so no TIME_WAIT is left anywhere. */
export function resetAndClose(fd: number): void {
  const c = constants();
  libc().setsockopt(fd, c.SOL_SOCKET, c.SO_LINGER, lingerReset, 8);
  libc().close(fd);
}

/**
 * A non-blocking listener on host:port (port 0: the kernel picks a free one), SO_REUSEADDR
 * set; with `resetOnClose`, SO_LINGER {1,0} too, which every socket it accepts inherits.
 * Returns its descriptor and port; throws SyscallError naming the call and the address.
 */
export function listenStream(
  host: string,
  port: number,
  backlog: number,
  opts: { resetOnClose?: boolean } = {},
): { fd: number; port: number } {
  const c = constants();
  const L = libc();
  const fd = openStream(host.includes(':'));
  if (fd < 0) throw SyscallError.fromErrno('socket', -fd, host, port);
  const fail = (syscall: string): SyscallError => {
    const err = SyscallError.fromErrno(syscall, L.errno(), host, port);
    L.close(fd);
    return err;
  };
  const one = Buffer.alloc(4);
  one.writeInt32LE(1, 0);
  if (L.setsockopt(fd, c.SOL_SOCKET, c.SO_REUSEADDR, one, 4) < 0) throw fail('setsockopt');
  if (opts.resetOnClose && L.setsockopt(fd, c.SOL_SOCKET, c.SO_LINGER, lingerReset, 8) < 0) {
    throw fail('setsockopt');
  }
  const sa = encodeSockAddr(host, port);
  if (L.bind(fd, sa, sa.length) < 0) throw fail('bind');
  if (L.listen(fd, backlog) < 0) throw fail('listen');
  const out = Buffer.alloc(c.SOCKADDR_STORAGE_SIZE);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(out.length, 0);
  if (L.getsockname(fd, out, len) < 0) throw fail('getsockname');
  // sin_port and sin6_port are both at offset 2, in network byte order
  return { fd, port: out.readUInt16BE(2) };
}

/**
 * An epoll instance with its own event buffer: `wait` fills it, `eventsAt` and `fdAt` read it.
 * The descriptor is stored in epoll_event.data, so an event names its socket directly.
 */
export class Epoll {
  readonly fd: number;
  private readonly buf: Buffer;
  private readonly ev: Buffer;
  private readonly size: number;
  private readonly dataOff: number;

  constructor(readonly maxEvents: number) {
    const c = constants();
    this.fd = libc().epoll_create1(c.EPOLL_CLOEXEC);
    if (this.fd < 0) throw SyscallError.fromErrno('epoll_create1', libc().errno());
    this.size = c.EPOLL_EVENT_SIZE;
    this.dataOff = c.EPOLL_DATA_OFFSET;
    this.buf = Buffer.alloc(maxEvents * this.size);
    this.ev = Buffer.alloc(16);
  }

  /** EPOLL_CTL_ADD: 0, or -errno. */
  add(fd: number, events: number): number {
    this.ev.writeUInt32LE(events >>> 0, 0);
    this.ev.writeUInt32LE(fd, this.dataOff);
    const r = libc().epoll_ctl(this.fd, constants().EPOLL_CTL_ADD, fd, this.ev);
    return r < 0 ? failed() : 0;
  }

  /** EPOLL_CTL_DEL (closing a descriptor removes it too). */
  remove(fd: number): void {
    libc().epoll_ctl(this.fd, constants().EPOLL_CTL_DEL, fd, null);
  }

  /** epoll_wait: how many events are ready (0 on a timeout or an interrupted wait). */
  wait(timeoutMs: number): number {
    const n = libc().epoll_wait(this.fd, this.buf, this.maxEvents, timeoutMs);
    return Math.max(n, 0);
  }

  /** The event mask of the k-th ready event. */
  eventsAt(k: number): number {
    return this.buf.readUInt32LE(k * this.size);
  }

  /** The descriptor of the k-th ready event. */
  fdAt(k: number): number {
    return this.buf.readUInt32LE(k * this.size + this.dataOff);
  }

  close(): void {
    libc().close(this.fd);
  }
}

/** getsockopt(IPPROTO_TCP, TCP_INFO) (11 on Linux): struct tcp_info, the fields read here. */
const TCP_INFO = 11;
const tcpInfo = Buffer.alloc(104);
const tcpInfoLen = Buffer.alloc(4);

/** TCP states by number (include/net/tcp_states.h); 1 = ESTABLISHED. */
export const TCP_STATES = [
  '?',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
] as const;

/**
 * A socket's TCP state (tcpi_state: 1 = ESTABLISHED, 8 = CLOSE_WAIT after the peer's FIN) and
 * how many of its segments the peer has not acknowledged (tcpi_unacked); -errno on failure.
 */
export function tcpState(fd: number): { state: number; unacked: number } | number {
  tcpInfoLen.writeUInt32LE(tcpInfo.length, 0);
  if (libc().getsockopt(fd, constants().IPPROTO_TCP, TCP_INFO, tcpInfo, tcpInfoLen) < 0) {
    return failed();
  }
  return { state: tcpInfo.readUInt8(0), unacked: tcpInfo.readUInt32LE(24) };
}

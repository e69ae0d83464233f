/**
 * The libc functions fourtuple calls, through koffi (a maintained FFI that ships prebuilt
 * binaries, so installing needs no compiler and no install script). Loaded lazily, once, so
 * that importing the library on a platform without support costs nothing until a socket is
 * needed. Buffers are passed as raw pointers: no marshalling per call.
 */
import koffi from 'koffi';
import { constants } from './platform.js';

type Fn<A extends unknown[], R> = ((...args: A) => R) & {
  async: (...args: [...A, (err: unknown, result: R) => void]) => void;
};

export interface Libc {
  socket: Fn<[number, number, number], number>;
  setsockopt: Fn<[number, number, number, Buffer, number], number>;
  getsockopt: Fn<[number, number, number, Buffer, Buffer], number>;
  bind: Fn<[number, Buffer, number], number>;
  listen: Fn<[number, number], number>;
  connect: Fn<[number, Buffer, number], number>;
  accept4: Fn<[number, Buffer | null, Buffer | null, number], number>;
  getsockname: Fn<[number, Buffer, Buffer], number>;
  getpeername: Fn<[number, Buffer, Buffer], number>;
  shutdown: Fn<[number, number], number>;
  close: Fn<[number], number>;
  send: Fn<[number, Buffer, number, number], number>;
  recv: Fn<[number, Buffer, number, number], number>;
  epoll_create1: Fn<[number], number>;
  epoll_ctl: Fn<[number, number, number, Buffer | null], number>;
  epoll_wait: Fn<[number, Buffer, number, number], number>;
  setns: Fn<[number, number], number>;
  /** errno of the last call on this thread */
  errno(): number;
}

let loaded: Libc | undefined;

/** The bound libc functions (loads them on first use; throws UnsupportedError off Linux). */
export function libc(): Libc {
  if (loaded) return loaded;
  const lib = koffi.load(constants().LIBC);
  const f = (decl: string) => lib.func(decl) as never;
  loaded = {
    socket: f('int socket(int domain, int type, int protocol)'),
    setsockopt: f('int setsockopt(int fd, int level, int name, void *value, uint32_t len)'),
    getsockopt: f('int getsockopt(int fd, int level, int name, void *value, void *len)'),
    bind: f('int bind(int fd, void *addr, uint32_t len)'),
    listen: f('int listen(int fd, int backlog)'),
    connect: f('int connect(int fd, void *addr, uint32_t len)'),
    accept4: f('int accept4(int fd, void *addr, void *len, int flags)'),
    getsockname: f('int getsockname(int fd, void *addr, void *len)'),
    getpeername: f('int getpeername(int fd, void *addr, void *len)'),
    shutdown: f('int shutdown(int fd, int how)'),
    close: f('int close(int fd)'),
    send: f('intptr_t send(int fd, void *buf, size_t len, int flags)'),
    recv: f('intptr_t recv(int fd, void *buf, size_t len, int flags)'),
    epoll_create1: f('int epoll_create1(int flags)'),
    epoll_ctl: f('int epoll_ctl(int epfd, int op, int fd, void *event)'),
    epoll_wait: f('int epoll_wait(int epfd, void *events, int maxevents, int timeout)'),
    setns: f('int setns(int fd, int nstype)'),
    errno: () => koffi.errno(),
  };
  return loaded;
}

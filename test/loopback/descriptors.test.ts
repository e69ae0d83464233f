/**
 * src/sockets/descriptors.ts against the real kernel on loopback: the calls the `max` engine
 * makes on plain descriptors, failures as -errno in the hot path and as SyscallError when
 * setting up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SyscallError } from '../../src/errors.js';
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
} from '../../src/sockets/descriptors.js';
import { errnoName } from '../../src/sockets/errno.js';
import { constants } from '../../src/sockets/platform.js';
import { encodeSockAddr } from '../../src/sockets/sockaddr.js';
import { freePortBlock } from '../helpers/ports.js';

const opened: number[] = [];
const track = (fd: number): number => {
  if (fd >= 0) opened.push(fd);
  return fd;
};
afterEach(() => {
  for (const fd of opened.splice(0)) resetAndClose(fd);
});

/** Waits on `ep` until `fd` reports one of `events` (or 2 s pass); returns its mask or 0. */
function waitFor(ep: Epoll, fd: number, events: number): number {
  const until = performance.now() + 2000;
  while (performance.now() < until) {
    const n = ep.wait(50);
    for (let k = 0; k < n; k++)
      if (ep.fdAt(k) === fd && ep.eventsAt(k) & events) return ep.eventsAt(k);
  }
  return 0;
}

describe('sockets/descriptors on loopback', () => {
  it('a listener on a port another listener holds fails with SyscallError bind EADDRINUSE, naming the address', () => {
    const first = listenStream('127.0.0.1', 0, 16);
    track(first.fd);
    expect(first.port).toBeGreaterThan(0);
    let err: unknown;
    try {
      track(listenStream('127.0.0.1', first.port, 16).fd);
    } catch (e) {
      err = e;
    }
    // SO_REUSEADDR does not let a second socket bind a port that a listener holds.
    expect(err).toBeInstanceOf(SyscallError);
    const e = err as SyscallError;
    expect(e.code).toBe('EADDRINUSE');
    expect(e.syscall).toBe('bind');
    expect(e.message).toMatch(new RegExp(`^bind EADDRINUSE 127\\.0\\.0\\.1:${first.port} \\(`));
  });

  it('connect, accept, send and echo on plain descriptors, driven by one Epoll', () => {
    const c = constants();
    const ep = new Epoll(64);
    try {
      const l = listenStream('127.0.0.1', 0, 16);
      track(l.fd);
      expect(ep.add(l.fd, c.EPOLLIN)).toBe(0);
      const client = track(openStream(false));
      expect(client).toBeGreaterThanOrEqual(0);
      expect(startConnect(client, encodeSockAddr('127.0.0.1', l.port))).toBe(0);
      expect(ep.add(client, c.EPOLLOUT | c.EPOLLIN | c.EPOLLET)).toBe(0);
      expect(waitFor(ep, client, c.EPOLLOUT) & (c.EPOLLERR | c.EPOLLHUP)).toBe(0);
      expect(waitFor(ep, l.fd, c.EPOLLIN)).not.toBe(0);
      const server = track(acceptNext(l.fd));
      expect(server).toBeGreaterThanOrEqual(0);
      expect(errnoName(-acceptNext(l.fd))).toBe('EAGAIN'); // the queue is empty now
      expect(sendNow(client, Buffer.from('x'), 1)).toBe(1);
      const buf = Buffer.alloc(8);
      const until = performance.now() + 2000;
      let n = recvNow(server, buf);
      while (n < 0 && errnoName(-n) === 'EAGAIN' && performance.now() < until) {
        n = recvNow(server, buf);
      }
      expect(n).toBe(1);
      expect(buf.toString('utf8', 0, 1)).toBe('x');
    } finally {
      ep.close();
    }
  });

  it('a connect to a port where nothing listens ends with ECONNREFUSED, read from SO_ERROR', () => {
    const c = constants();
    const port = freePortBlock(1, ['127.0.0.1']);
    const ep = new Epoll(8);
    try {
      const fd = openStream(false);
      expect(fd).toBeGreaterThanOrEqual(0);
      const r = startConnect(fd, encodeSockAddr('127.0.0.1', port));
      // on loopback the RST can come back before connect() returns, or after
      let errno = -r;
      if (r === 0) {
        expect(ep.add(fd, c.EPOLLOUT | c.EPOLLET)).toBe(0);
        expect(waitFor(ep, fd, c.EPOLLERR | c.EPOLLHUP)).not.toBe(0);
        errno = connectError(fd);
      }
      closeFd(fd);
      expect(errnoName(errno)).toBe('ECONNREFUSED');
    } finally {
      ep.close();
    }
  });
});

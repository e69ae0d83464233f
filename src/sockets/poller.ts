/**
 * Waiting for a raw descriptor to become readable or writable without blocking Node's event
 * loop and without sleeping: one epoll instance per process, and one epoll_wait at a time run
 * on koffi's async worker thread while anything is waited for. Each wait carries a token in
 * epoll_event.data, so an event for a descriptor that was closed and reused is never
 * delivered to the wrong waiter.
 */
import { SyscallError } from '../errors.js';
import { errnoMeaning, errnoNumber } from './errno.js';
import { libc } from './libc.js';
import { constants } from './platform.js';

interface Waiter {
  fd: number;
  resolve(revents: number): void;
  reject(err: unknown): void;
  timer?: NodeJS.Timeout;
  cleanupSignal?: () => void;
}

const BATCH = 256;
/** epoll_wait's timeout on the worker thread: how late a cancelled wait may hold the loop */
const WAIT_MS = 50;

class Poller {
  private epfd = -1;
  private nextToken = 1;
  private readonly waiters = new Map<number, Waiter>();
  private running = false;
  private readonly events: Buffer;

  constructor() {
    this.events = Buffer.alloc(BATCH * constants().EPOLL_EVENT_SIZE);
  }

  private ensure(): number {
    if (this.epfd >= 0) return this.epfd;
    const c = constants();
    const fd = libc().epoll_create1(c.EPOLL_CLOEXEC);
    if (fd < 0) {
      const e = libc().errno();
      throw SyscallError.fromErrno('epoll_create1', e);
    }
    this.epfd = fd;
    return fd;
  }

  /** Resolves with the epoll events (EPOLLOUT, EPOLLERR, ...) when `fd` is ready. */
  wait(fd: number, events: number, timeoutMs?: number, signal?: AbortSignal): Promise<number> {
    const c = constants();
    const epfd = this.ensure();
    signal?.throwIfAborted();
    const token = this.nextToken++;
    const ev = Buffer.alloc(c.EPOLL_EVENT_SIZE);
    ev.writeUInt32LE(events | c.EPOLLERR | c.EPOLLHUP, 0);
    ev.writeBigUInt64LE(BigInt(token), c.EPOLL_DATA_OFFSET);
    if (libc().epoll_ctl(epfd, c.EPOLL_CTL_ADD, fd, ev) < 0) {
      const e = libc().errno();
      return Promise.reject(SyscallError.fromErrno('epoll_ctl', e));
    }
    return new Promise<number>((resolve, reject) => {
      const w: Waiter = { fd, resolve, reject };
      if (timeoutMs !== undefined) {
        w.timer = setTimeout(() => {
          this.finish(token);
          const name = 'ETIMEDOUT';
          reject(new SyscallError('connect', name, errnoNumber(name) ?? -1, errnoMeaning(name)));
        }, timeoutMs);
      }
      if (signal) {
        const onAbort = (): void => {
          this.finish(token);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        w.cleanupSignal = () => signal.removeEventListener('abort', onAbort);
      }
      this.waiters.set(token, w);
      this.loop();
    });
  }

  /** Forgets a waiter: removes its fd from epoll (if still open) and its timers. */
  private finish(token: number): Waiter | undefined {
    const w = this.waiters.get(token);
    if (!w) return undefined;
    this.waiters.delete(token);
    if (w.timer) clearTimeout(w.timer);
    w.cleanupSignal?.();
    libc().epoll_ctl(this.epfd, constants().EPOLL_CTL_DEL, w.fd, null);
    return w;
  }

  private loop(): void {
    if (this.running || this.waiters.size === 0) return;
    this.running = true;
    const c = constants();
    libc().epoll_wait.async(this.epfd, this.events, BATCH, WAIT_MS, (err, n) => {
      this.running = false;
      if (err) {
        for (const [token, w] of [...this.waiters]) {
          this.finish(token);
          w.reject(err);
        }
        return;
      }
      for (let i = 0; i < n; i++) {
        const off = i * c.EPOLL_EVENT_SIZE;
        const revents = this.events.readUInt32LE(off);
        const token = Number(this.events.readBigUInt64LE(off + c.EPOLL_DATA_OFFSET));
        this.finish(token)?.resolve(revents);
      }
      this.loop();
    });
  }

  /** Descriptors being waited for (for tests and leak checks). */
  get pending(): number {
    return this.waiters.size;
  }
}

let poller: Poller | undefined;

/** Waits until `fd` is ready for `events` (EPOLLIN / EPOLLOUT); resolves with what happened. */
export function waitReady(
  fd: number,
  events: number,
  timeoutMs?: number,
  signal?: AbortSignal,
): Promise<number> {
  poller ??= new Poller();
  return poller.wait(fd, events, timeoutMs, signal);
}

/** How many waits are outstanding (0 when nothing is left behind). */
export function pendingWaits(): number {
  return poller?.pending ?? 0;
}

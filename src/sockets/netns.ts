/**
 * Creating sockets inside another network namespace. setns(2) moves only the calling thread,
 * and a socket belongs forever to the namespace it was created in, so: enter the namespace on
 * the main thread (where JS and koffi's synchronous calls run), create the sockets, come back.
 * libuv's epoll on the main thread serves sockets from any namespace. `fn` must be synchronous:
 * an await inside it would let other code run in the wrong namespace.
 */
import { closeSync, openSync } from 'node:fs';
import { libc } from './libc.js';
import { constants } from './platform.js';
import { lastError } from './socket.js';

export function withNetns<T>(nsPath: string | undefined, fn: () => T): T {
  if (!nsPath) return fn();
  const target = openSync(nsPath, 'r');
  let home: number | undefined;
  try {
    home = openSync('/proc/thread-self/ns/net', 'r');
    if (libc().setns(target, constants().CLONE_NEWNET) < 0) throw lastError('setns');
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      const r = fn();
      outcome =
        r instanceof Promise
          ? { ok: false, error: new TypeError('withNetns: fn must be synchronous') }
          : { ok: true, value: r };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (libc().setns(home, constants().CLONE_NEWNET) < 0) {
      // Staying in the wrong namespace would silently misdirect every later socket.
      throw lastError('setns (returning to the original namespace)');
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  } finally {
    closeSync(target);
    if (home !== undefined) closeSync(home);
  }
}

/** /run/netns/NAME for a namespace created by `ip netns add NAME`. */
export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

/** Shared checks for tests that interrupt a CLI run with SIGINT or SIGTERM. */
import { expect } from 'vitest';
import { listLabs } from '../../src/hosts/index.js';
import type { Child } from './child.js';
import { type Proc, socketsGone, type sockstat, sockstatBack, stillRunning } from './procs.js';

/**
 * How long an interrupted run may take to exit, as a test sees it. The product's bound is 5 s
 * (runMain's force-exit timer, no longer unref'd); a test allows for the scheduling delay of a
 * machine where another CPU-heavy program runs beside it (9.2 s was measured beside a `max` of
 * 200,000 connections in a loop on 2 cores). A hang, the failure these tests catch, lasts forever.
 */
export const EXIT_BOUND_MS = 15_000;

/** Each signal and the exit code it must give (128 + its number). */
export const SIGNALS = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const;

/** Sends `sig` to `child` and waits for it to exit: the code and how long it took. */
export async function interrupt(child: Child, sig: NodeJS.Signals) {
  const t0 = Date.now();
  child.proc.kill(sig);
  const r = await child.exited;
  return { ...r, ms: Date.now() - t0 };
}

/**
 * The checks every interrupted run must pass: no process it started still running, no socket on
 * its ports in any state (when they are known), no lab of its own. Only when its ports are not
 * known is machine-wide sockstat compared with `before`: other programs' sockets move it too.
 */
export async function expectNothingLeft(
  child: Child,
  seen: Proc[],
  opts: { ports?: [number, number][]; before: ReturnType<typeof sockstat> },
) {
  expect(stillRunning(seen), 'processes it started').toEqual([]);
  if (opts.ports) {
    expect(await socketsGone(opts.ports), 'sockets on its ports').toEqual([]);
  } else {
    const after = await sockstatBack(opts.before);
    expect(after.tcpInuse).toBeLessThanOrEqual(opts.before.tcpInuse + 50);
    expect(after.tcpTimeWait).toBeLessThanOrEqual(opts.before.tcpTimeWait + 50);
  }
  expect((await listLabs()).filter((l) => l.ownerPid === child.pid)).toEqual([]);
}

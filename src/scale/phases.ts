/**
 * The phases of a `max` run after its plan, in order: startup (spawn and set up the workers),
 * ramp (open the connections), hold, verify (an echo on every connection), teardown (RSTs, then
 * /proc/net/sockstat back where it was). Each reads and stops the run through its RunState.
 */
import type { Sockstat } from '../limits/procfs.js';
import { readSockstatNow } from './_proc.js';
import type { ToWorker } from './messages.js';
import type { WorkerHandle, WorkerPool } from './pool.js';
import type { RunState } from './run-state.js';

/** workers spawned (and set up) at a time */
const STARTUP_BATCH = 8;
/** how long a worker may take to answer `setup` */
const STARTUP_TIMEOUT_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Spawns `count` workers and sets each up, a batch at a time. A worker is ready only when it
 * answered `setup`: one that exits or fails first stops the run (worker-crash) and is never
 * counted. Interrupted while workers boot, it returns at once (teardown stops the others).
 */
export async function startup(
  run: RunState,
  pool: WorkerPool,
  count: number,
  setup: Extract<ToWorker, { cmd: 'setup' }>,
): Promise<void> {
  for (let i = 0; i < count && !run.stopped; i += STARTUP_BATCH) {
    const batch: WorkerHandle[] = [];
    for (let j = i; j < Math.min(i + STARTUP_BATCH, count); j++) {
      const w = pool.spawn();
      pool.post(w, setup);
      batch.push(w);
    }
    const booted = Promise.all(batch.map((w) => pool.waitFor(w, 'ready', STARTUP_TIMEOUT_MS)));
    let unsubscribe = (): void => {};
    const woken = new Promise<undefined>((resolve) => {
      unsubscribe = run.onStop((why) => {
        if (why.reason === 'interrupted') resolve(undefined);
      });
    });
    const readies = (await Promise.race([booted, woken])) ?? [];
    unsubscribe();
    if (run.interrupted) return;
    readies.forEach((r, k) => {
      const w = batch[k]!;
      if (r && w.state === 'starting') {
        w.ready = r;
        w.state = 'ready';
      } else if (w.state === 'starting' && !run.stopped) {
        run.stop({ reason: 'worker-crash', detail: `worker ${w.pid} did not start` });
      }
    });
  }
}

/**
 * Each ready worker opens its quota of connections, `concurrency` of them at once, until every
 * quota is met or the run stops (a wall, the memory guard, --duration, a crash, a signal).
 */
export async function ramp(
  run: RunState,
  pool: WorkerPool,
  opts: { window: number; concurrency: number; rate: number; durationMs: number },
): Promise<void> {
  const perWorkerRate = opts.rate ? opts.rate / opts.concurrency : 0;
  const queue = pool.workers.filter((w) => w.state === 'ready' && w.quota > 0);
  const active = new Set<WorkerHandle>();
  await new Promise<void>((resolve) => {
    const deadline = setTimeout(() => {
      run.stop({
        reason: 'duration',
        detail: `the ramp reached --duration (${opts.durationMs} ms)`,
      });
    }, opts.durationMs);
    const startNext = (): void => {
      while (!run.stopped && active.size < opts.concurrency && queue.length) {
        const w = queue.shift()!;
        active.add(w);
        w.state = 'ramping';
        pool.post(w, {
          cmd: 'ramp',
          connections: w.quota,
          window: opts.window,
          rate: perWorkerRate,
        });
        void pool.waitFor(w, 'ramped', opts.durationMs + 60_000).then(() => {
          active.delete(w);
          startNext();
        });
      }
      if (active.size === 0) {
        clearTimeout(deadline);
        resolve();
      }
    };
    startNext();
  });
}

/** Holds the connections for `ms` (less when the signal aborts); returns how long it meant to. */
export async function hold(ms: number, signal: AbortSignal | undefined): Promise<number> {
  const holdMs = signal?.aborted ? 0 : ms;
  const until = performance.now() + holdMs;
  while (performance.now() < until && !signal?.aborted) {
    await sleep(Math.min(200, until - performance.now()));
  }
  return holdMs;
}

/** Every held connection sends a byte and reads the echo; counts the alive and the dead. */
export async function verify(
  pool: WorkerPool,
  timeoutMs: number,
): Promise<{ alive: number; dead: number }> {
  const holding = pool.holding();
  const results = await Promise.all(
    holding.map((w) => {
      pool.post(w, { cmd: 'verify', timeoutMs });
      return pool.waitFor(w, 'verified', timeoutMs + 10_000);
    }),
  );
  let alive = 0;
  let dead = 0;
  // A worker that crashed (before or during the verify) took its connections with it: they
  // count in `established` (the peak) and are not alive, so they are dead; otherwise
  // alive + dead < established and a crash would look like connections never made.
  for (const w of pool.workers) {
    const k = holding.indexOf(w);
    const r = k >= 0 ? results[k] : undefined;
    if (r) {
      alive += r.result.alive;
      dead += r.result.dead;
    } else if (w.state === 'dead') dead += w.stats.established;
  }
  return { alive, dead };
}

/** Every worker closes its sockets (RSTs) and exits; one that does not in 5 s is killed. */
export async function teardown(pool: WorkerPool): Promise<void> {
  await Promise.all(
    pool.workers
      .filter((w) => w.state !== 'dead')
      .map(async (w) => {
        if (w.state === 'starting') {
          // Still booting (an interrupt during startup): it holds no connection; stop it. One
          // whose setup failed is leaving by itself: its exit (code 1) is a crash to record.
          if (!w.failed) {
            w.state = 'closed';
            w.child.kill('SIGTERM');
          }
        } else {
          pool.post(w, { cmd: 'teardown' });
          const r = await pool.waitFor(w, 'closed', 15_000);
          w.state = r ? 'closed' : w.state;
        }
        await exited(w);
      }),
  );
}

/** Resolves when the worker's process has exited (SIGKILL after 5 s). */
function exited(w: WorkerHandle): Promise<void> {
  return new Promise<void>((resolve) => {
    if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      w.child.kill('SIGKILL');
      resolve();
    }, 5000);
    w.child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * Waits (up to `waitMs`) for /proc/net/sockstat to come back to its level before the run: the
 * RSTs leave no TIME_WAIT, and the kernel frees sockets asynchronously.
 */
export async function settleSockstat(
  before: Sockstat,
  peak: number,
  waitMs: number,
): Promise<{ sockstat: Sockstat; clean: boolean }> {
  // Other programs on the machine open sockets too: allow a little slack, never our peak.
  const slack = Math.max(50, Math.round(peak * 0.001));
  const until = performance.now() + waitMs;
  let now = readSockstatNow();
  for (;;) {
    const clean =
      now.tcpInuse <= before.tcpInuse + slack && now.tcpTimeWait <= before.tcpTimeWait + slack;
    if (clean || performance.now() > until) return { sockstat: now, clean };
    await sleep(100);
    now = readSockstatNow();
  }
}

/**
 * The phases of a `max` run after its plan, in order: startup (spawn and set up the workers),
 * ramp (open the connections), hold, verify (an echo on every connection), teardown (RSTs, then
 * /proc/net/sockstat back where it was). Each reads and stops the run through its RunState.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Sockstat } from '../limits/procfs.js';
import { ownSocketsLeft, ownSocketsLeftFiltered, readSockstatNow } from './_proc.js';
import type { ToWorker } from './messages.js';
import type { WorkerHandle, WorkerPool } from './pool.js';
import type { RunState } from './run-state.js';

/** workers spawned (and set up) at a time */
export const STARTUP_BATCH = 8;
/** how long a worker may take to answer `setup` */
const STARTUP_TIMEOUT_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Spawns `count` workers and sets each up, a batch at a time, calling `onReady` for each as it
 * is ready (so the ramp can start on it while the next batch boots). A worker is ready only
 * when it answered `setup`: one that exits or fails first stops the run (worker-crash) and is
 * never counted. Before each batch it waits for `gate`, which says whether more are wanted;
 * it stops spawning once the run stops or the gate says no. Interrupted while workers boot, it
 * returns at once (teardown stops the others).
 */
export async function startup(
  run: RunState,
  pool: WorkerPool,
  count: number,
  setup: Extract<ToWorker, { cmd: 'setup' }>,
  onReady: (w: WorkerHandle) => void = () => {},
  gate: () => Promise<boolean> = async () => true,
): Promise<void> {
  for (let i = 0; i < count && !run.stopped; i += STARTUP_BATCH) {
    if (!(await gate()) || run.stopped) return;
    const batch: WorkerHandle[] = [];
    for (let j = i; j < Math.min(i + STARTUP_BATCH, count); j++) {
      const w = pool.spawn();
      pool.post(w, setup);
      batch.push(w);
    }
    let unsubscribe = (): void => {};
    const woken = new Promise<undefined>((resolve) => {
      unsubscribe = run.onStop((why) => {
        if (why.reason === 'interrupted') resolve(undefined);
      });
    });
    // each worker of the batch is handed on as soon as it answers, not when the batch has
    const booted = Promise.all(
      batch.map(async (w) => {
        const r = await pool.waitFor(w, 'ready', STARTUP_TIMEOUT_MS);
        if (run.interrupted) return;
        if (r && w.state === 'starting') {
          w.ready = r;
          w.state = 'ready';
          onReady(w);
        } else if (w.state === 'starting' && !run.stopped) {
          run.stop({ reason: 'worker-crash', detail: `worker ${w.pid} did not start` });
        }
      }),
    );
    await Promise.race([booted, woken]);
    unsubscribe();
    if (run.interrupted) return;
  }
}

/**
 * The ramp: each worker handed to it (`add`) opens its quota of connections, `concurrency`
 * workers at once, until every quota is met and no more workers will come (`close`), or the run
 * stops (a wall, the memory guard, --duration, a crash, a signal). `done` resolves then.
 */
export class Ramp {
  readonly done: Promise<void>;
  private readonly queue: WorkerHandle[] = [];
  private readonly active = new Set<WorkerHandle>();
  private closed = false;
  private finish: () => void = () => {};
  private readonly deadline: NodeJS.Timeout;
  private readonly perWorkerRate: number;

  constructor(
    private readonly run: RunState,
    private readonly pool: WorkerPool,
    private readonly opts: {
      window: number;
      concurrency: number;
      rate: number;
      durationMs: number;
    },
  ) {
    this.perWorkerRate = opts.rate ? opts.rate / opts.concurrency : 0;
    this.done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    this.deadline = setTimeout(() => {
      run.stop({
        reason: 'duration',
        detail: `the ramp reached --duration (${opts.durationMs} ms)`,
      });
      this.next();
    }, opts.durationMs);
    // a stop while no worker ramps (between batches) ends the ramp too
    run.onStop(() => this.next());
  }

  /** A ready worker with its quota: it ramps as soon as fewer than `concurrency` do. */
  add(w: WorkerHandle): void {
    if (w.quota > 0) this.queue.push(w);
    this.next();
  }

  /** No more workers will be added. */
  close(): void {
    this.closed = true;
    this.next();
  }

  /** Workers added and not yet done: queued or ramping. */
  get pending(): number {
    return this.queue.length + this.active.size;
  }

  private next(): void {
    while (!this.run.stopped && this.active.size < this.opts.concurrency && this.queue.length) {
      const w = this.queue.shift()!;
      this.active.add(w);
      w.state = 'ramping';
      this.pool.post(w, {
        cmd: 'ramp',
        connections: w.quota,
        window: this.opts.window,
        rate: this.perWorkerRate,
      });
      void this.pool.waitFor(w, 'ramped', this.opts.durationMs + 60_000).then(() => {
        this.active.delete(w);
        this.next();
      });
    }
    if (this.active.size === 0 && (this.closed || this.run.stopped)) {
      clearTimeout(this.deadline);
      this.finish();
    }
  }
}

/** Probes during the hold (--probe-interval): every `intervalMs`, each worker checks its connections. */
export interface HoldProbes {
  run: RunState;
  pool: WorkerPool;
  intervalMs: number;
}

/**
 * Holds the connections for `ms` (less when the signal aborts); returns how long it meant to.
 * With `probes`, every interval each worker probes its connections (a round, timed as a short
 * verify), and a connection found dead is counted with the time it was found.
 */
export async function hold(
  ms: number,
  signal: AbortSignal | undefined,
  probes?: HoldProbes,
): Promise<number> {
  const holdMs = signal?.aborted ? 0 : ms;
  const until = performance.now() + holdMs;
  let nextRound = performance.now() + (probes?.intervalMs ?? Number.POSITIVE_INFINITY);
  while (performance.now() < until && !signal?.aborted) {
    if (probes && probes.intervalMs > 0 && performance.now() >= nextRound) {
      await probeRound(
        probes,
        Math.max(1000, Math.min(probes.intervalMs, until - performance.now())),
      );
      nextRound = performance.now() + probes.intervalMs;
      continue;
    }
    await sleep(
      Math.min(200, until - performance.now(), Math.max(0, nextRound - performance.now())),
    );
  }
  return holdMs;
}

/** One probe round over every holding worker, recorded in the run's probe rounds. */
async function probeRound(p: HoldProbes, timeoutMs: number): Promise<void> {
  const holding = p.pool.holding();
  const before = holding.reduce((n, w) => n + w.stats.lost, 0);
  const answers = await Promise.all(
    holding.map((w) => {
      p.pool.post(w, { cmd: 'probe', timeoutMs });
      return p.pool.waitFor(w, 'probed', timeoutMs + 10_000);
    }),
  );
  let alive = 0;
  let unverified = 0;
  for (const a of answers) {
    alive += a?.result.alive ?? 0;
    unverified += a?.result.unverified ?? 0;
  }
  const after = holding.reduce((n, w) => n + w.stats.lost, 0);
  const rampAt = p.run.phaseStartedAt.ramp ?? Date.now();
  p.run.probeRounds.push({ tMs: Date.now() - rampAt, alive, died: after - before, unverified });
}

/**
 * The verify's time budget per worker: 30 s, or more when the workers hold more than the cores
 * can check in that time. Every worker verifies at once and they share the cores: measured, 1M
 * connections on 2 cores took 18-29 s (0.04-0.06 ms per connection per core, a busy machine);
 * the budget allows about three times that, plus 10 s. It only bounds the verify, which ends
 * as soon as every connection is checked; what it does not reach is unverified, not dead.
 */
export function verifyBudgetMs(perWorker: number, workers: number, cores: number): number {
  const perCore = (perWorker * workers) / Math.max(1, cores);
  return Math.max(30_000, Math.round(perCore * 0.15) + 10_000);
}

/**
 * Every held connection is probed; counts the alive, the dead (on evidence) and the unverified
 * (not checked before the timeout).
 */
export async function verify(
  pool: WorkerPool,
  timeoutMs: number,
): Promise<{ alive: number; dead: number; unverified: number }> {
  const holding = pool.holding();
  const results = await Promise.all(
    holding.map((w) => {
      pool.post(w, { cmd: 'verify', timeoutMs });
      return pool.waitFor(w, 'verified', timeoutMs + 10_000);
    }),
  );
  let alive = 0;
  let dead = 0;
  let unverified = 0;
  // A worker that crashed (before or during the verify) took its connections with it: they
  // count in `established` (the peak) and are not alive, so they are dead; otherwise
  // alive + dead < established and a crash would look like connections never made.
  for (const w of pool.workers) {
    const k = holding.indexOf(w);
    const r = k >= 0 ? results[k] : undefined;
    if (r) {
      alive += r.result.alive;
      dead += r.result.dead;
      unverified += r.result.unverified;
    } else if (w.state === 'dead') dead += w.stats.established;
    else unverified += w.stats.established; // alive, but no answer in time
  }
  return { alive, dead, unverified };
}

/**
 * Every worker closes its sockets (RSTs) and exits; one that does not in 5 s is killed.
 * Interrupted, the whole command has 5 s to print its partial result and exit (runMain): a
 * worker then gets 2 s to say it closed and 1.5 s more to exit before it is killed (its
 * sockets then close with it, with RSTs: they inherit SO_LINGER {1,0}).
 */
export async function teardown(pool: WorkerPool, interrupted = false): Promise<void> {
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
          const r = await pool.waitFor(w, 'closed', interrupted ? 2000 : 15_000);
          w.state = r ? 'closed' : w.state;
        }
        await childExited(w.child, interrupted ? INTERRUPTED_EXIT_MS : EXIT_MS);
      }),
  );
}

/** how long a worker may take to exit once told to (then SIGKILL) */
const EXIT_MS = 5000;
/** the same when the run was interrupted: runMain exits 5 s after the signal, result or not */
export const INTERRUPTED_EXIT_MS = 1500;

/** Resolves when a child process has exited (SIGKILL after `killAfterMs`): a `max` or `max --tls` worker. */
export function childExited(child: ChildProcess, killAfterMs = EXIT_MS): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, killAfterMs);
    child.once('exit', () => {
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
  waitMs: number,
  own: {
    before: Sockstat;
    listenPorts: readonly number[];
    targets: readonly { host: string; port: number }[];
    /** sockets of that description before the first connect (another client of a target) */
    already: number;
  },
): Promise<{ sockstat: Sockstat; clean: boolean; left: number }> {
  // Clean means none of the run's own sockets is left, in any state (TIME_WAIT included):
  // judged on its listeners' ports and its targets, so another program's sockets, however many,
  // never make a run "NOT clean". Machine-wide sockstat is still reported beside it, and is
  // the cheap first wait: the run's own sockets are counted once the kernel's totals are near
  // where they were, or every second when another program keeps them from settling (so a
  // clean run does not wait out `waitMs`). Counted with a filter the kernel applies (ss):
  // reading all of /proc/net/tcp beside 400,000 other sockets blocked the event loop for
  // seconds, past runMain's 5 s after a signal.
  const left = (): number =>
    Math.max(
      0,
      (ownSocketsLeftFiltered(own.listenPorts, own.targets) ??
        ownSocketsLeft(own.listenPorts, own.targets)) - own.already,
    );
  const until = performance.now() + waitMs;
  let nextDirect = performance.now() + 1000;
  for (;;) {
    const now = readSockstatNow();
    const settled =
      now.tcpInuse <= own.before.tcpInuse + 1000 &&
      now.tcpTimeWait <= own.before.tcpTimeWait + 1000;
    const expired = performance.now() > until;
    if (settled || expired || performance.now() >= nextDirect) {
      const n = left();
      if (n === 0 || expired) return { sockstat: now, clean: n === 0, left: n };
      nextDirect = performance.now() + 1000;
    }
    await sleep(100);
  }
}

/**
 * When the server's SYNs went unanswered, its listen queue as the kernel shows it (`ss -ltn`:
 * Recv-Q = connections waiting to be accepted, Send-Q = the backlog) and net.core.somaxconn,
 * read while our connections are still held. Only for a target on this machine.
 */
export function noteListenQueue(
  run: RunState,
  targets: readonly { host: string; port: number }[] | undefined,
): void {
  const why = run.stoppedBy;
  const t = targets?.[0];
  if (!t || why?.kind !== 'connect-timeout') return;
  let somaxconn = 0;
  try {
    somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
  } catch {
    // not readable: 0
  }
  try {
    const out = execFileSync('ss', ['-ltnH', `sport = :${t.port}`], {
      encoding: 'utf8',
      timeout: 3000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const fields = out.trim().split('\n')[0]?.trim().split(/\s+/) ?? [];
    // State Recv-Q Send-Q Local Peer
    const queued = Number(fields[1]);
    const backlog = Number(fields[2]);
    if (Number.isFinite(queued) && Number.isFinite(backlog)) {
      why.listenQueue = { queued, backlog, somaxconn };
    }
  } catch {
    // no ss, or another namespace: the words say what they can without it
  }
}

/**
 * The worker processes of a `max` run: spawning them, routing their messages, waiting for an
 * answer, and telling a worker that stopped answering (it exited, or reported an error) from
 * one that answered. A worker that exits or fails is never taken for one that answered: every
 * wait on it ends with `undefined` at once.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { builtEntry } from '../_entry.js';
import { readProcRss, readProcSize } from './_proc.js';
import { type EngineStats, emptyStats, type Wall } from './engine.js';
import type { FromWorker, ToWorker } from './messages.js';
import { type FailureKinds, mergeFailureKinds } from './probe.js';
import type { RunState } from './run-state.js';
import type { Crash, StoppedBy } from './types.js';

export type WorkerState = 'starting' | 'ready' | 'ramping' | 'ramped' | 'closed' | 'dead';

export interface WorkerHandle {
  child: ChildProcess;
  pid: number;
  ready?: Extract<FromWorker, { type: 'ready' }>;
  stats: EngineStats;
  quota: number;
  state: WorkerState;
  /** it reported an error: after a failed setup it exits by itself (code 1) */
  failed?: boolean;
  /** answers awaited, by type; each resolves with the answer, or undefined if none will come */
  waiters: Map<FromWorker['type'], (m: FromWorker | undefined) => void>;
}

type Answer<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

function addFailures(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/**
 * A worker's environment: ours, less what only costs it time. NODE_EXTRA_CA_CERTS (set on
 * many machines for proxies) makes every Node process parse a certificate bundle as it starts:
 * measured here (fork to `ready`, medians of 5, quiet), 170-180 ms of CPU to boot a worker
 * with it, 130-140 ms without, times a hundred workers at 1M. A worker makes no TLS connection.
 */
export function workerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, UV_THREADPOOL_SIZE: '1' };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** A `max` worker process: lean (its base memory counts in every connection's cost). */
export function forkWorker(): ChildProcess {
  return fork(builtEntry(import.meta.url, 'scale/worker.js'), [], {
    execArgv: ['--max-semi-space-size=1', '--single-threaded'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: workerEnv(),
  });
}

export class WorkerPool {
  readonly workers: WorkerHandle[] = [];
  readonly crashes: Crash[] = [];

  constructor(
    private readonly run: RunState,
    /** the stop a worker's wall means (its words depend on the machine's limits) */
    private readonly wallStop: (wall: Wall, w: WorkerHandle) => StoppedBy,
  ) {
    // Whatever stops the run stops the ramp: no worker keeps connecting.
    run.onStop(() => {
      for (const w of this.workers) if (w.state === 'ramping') this.post(w, { cmd: 'stop' });
    });
  }

  spawn(): WorkerHandle {
    const child = forkWorker();
    const w: WorkerHandle = {
      child,
      pid: child.pid ?? -1,
      stats: emptyStats(),
      quota: 0,
      state: 'starting',
      waiters: new Map(),
    };
    child.on('error', () => {
      // spawn or IPC failure: the 'exit' handler (or the startup timeout) reports it
    });
    child.on('message', (m: FromWorker) => this.onMessage(w, m));
    child.on('exit', (code, sig) => this.onExit(w, code, sig));
    this.workers.push(w);
    return w;
  }

  post(w: WorkerHandle, m: ToWorker): void {
    // A worker can die between the check and the write (Ctrl-C reaches the whole process
    // group): the write fails with EPIPE. Its 'exit' handler records why; the error must not
    // become an unhandled 'error' event that kills the coordinator.
    if (w.child.connected) w.child.send(m, () => {});
  }

  /**
   * The worker's next answer of this type; undefined when it exits, reports an error, or
   * `timeoutMs` passes first.
   */
  waitFor<T extends FromWorker['type']>(
    w: WorkerHandle,
    type: T,
    timeoutMs: number,
  ): Promise<Answer<T> | undefined> {
    return new Promise((resolve) => {
      if (w.state === 'dead') return resolve(undefined);
      const t = setTimeout(() => {
        w.waiters.delete(type);
        resolve(undefined);
      }, timeoutMs);
      w.waiters.set(type, (m) => {
        clearTimeout(t);
        resolve(m as Answer<T> | undefined);
      });
    });
  }

  /** Ends every wait on `w` with undefined: the answers will not come. */
  private failWaiters(w: WorkerHandle): void {
    const waiters = [...w.waiters.values()];
    w.waiters.clear();
    for (const waiter of waiters) waiter(undefined);
  }

  private onMessage(w: WorkerHandle, m: FromWorker): void {
    if (m.type === 'progress' || m.type === 'ramped') {
      w.stats = m.stats;
      if (m.stats.wall) this.run.stop(this.wallStop(m.stats.wall, w));
    }
    if (m.type === 'ramped') w.state = 'ramped';
    if (m.type === 'verified' || m.type === 'probed') w.stats = m.stats;
    if (m.type === 'error') {
      w.failed = true;
      this.run.stop({ reason: 'worker-crash', detail: `worker ${w.pid}: ${m.message}` });
      this.failWaiters(w);
      return;
    }
    const waiter = w.waiters.get(m.type);
    if (waiter) {
      w.waiters.delete(m.type);
      waiter(m);
    }
  }

  private onExit(w: WorkerHandle, code: number | null, sig: NodeJS.Signals | null): void {
    const was = w.state;
    const phase = this.run.phase;
    w.state = 'dead';
    // Ctrl-C in a terminal signals the whole process group: workers exit on SIGINT/SIGTERM
    // (130/143) as the coordinator does. That is the user stopping the run, not a crash.
    const byUser = sig === 'SIGINT' || sig === 'SIGTERM' || code === 130 || code === 143;
    if (byUser) {
      if (phase !== 'teardown') {
        const got = sig ?? (code === 130 ? 'SIGINT' : 'SIGTERM');
        this.run.stop({
          reason: 'interrupted',
          detail: `interrupted (worker ${w.pid} got ${got})`,
        });
      }
    } else if (was !== 'closed' && !(code === 0 && phase === 'teardown')) {
      this.crashes.push({ pid: w.pid, code, signal: sig });
      if (phase !== 'teardown') {
        this.run.stop({
          reason: 'worker-crash',
          detail: `worker ${w.pid} exited (${sig ?? `code ${code}`}) during ${phase}, with ${w.stats.established} connections established`,
        });
      }
    }
    this.failWaiters(w);
  }

  /** Established, accepted and failures summed over every worker (the dead ones' last word). */
  totals(): {
    established: number;
    accepted: number;
    failures: Record<string, number>;
    kinds: FailureKinds;
  } {
    let established = 0;
    let accepted = 0;
    const failures: Record<string, number> = {};
    const kinds: FailureKinds = {};
    for (const w of this.workers) {
      established += w.stats.established;
      accepted += w.stats.accepted;
      addFailures(failures, w.stats.failures);
      mergeFailureKinds(kinds, w.stats.kinds);
    }
    return { established, accepted, failures, kinds };
  }

  /** Workers that answered `setup` and are still alive: those that hold connections. */
  holding(): WorkerHandle[] {
    return this.workers.filter(
      (w) => w.state === 'ready' || w.state === 'ramping' || w.state === 'ramped',
    );
  }

  /** RSS of the live workers (cheap: read every sample of the ramp). */
  rssBytes(): number {
    let rss = 0;
    for (const w of this.workers) if (w.state !== 'dead') rss += readProcRss(w.pid);
    return rss;
  }

  /** RSS and PSS of the live workers and of this process. */
  sizes(): { rssBytes: number; pssBytes: number } {
    return this.workers.reduce((acc, w) => {
      if (w.state === 'dead') return acc;
      const s = readProcSize(w.pid);
      return { rssBytes: acc.rssBytes + s.rssBytes, pssBytes: acc.pssBytes + s.pssBytes };
    }, readProcSize(process.pid));
  }

  /** Whatever happened, no worker outlives the run. */
  killRemaining(): void {
    for (const w of this.workers) {
      if (w.state !== 'dead' && w.state !== 'closed') w.child.kill('SIGTERM');
    }
  }
}

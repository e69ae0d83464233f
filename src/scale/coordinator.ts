/**
 * `max`: the coordinator. Plans how many worker processes the connections need (each worker is
 * capped by its RLIMIT_NOFILE, 20000 here and not raisable, and both ends of a loopback
 * connection cost a descriptor), starts them, ramps them a few at a time, holds, verifies every
 * connection with an echo, tears down with RSTs and checks /proc/net/sockstat is back where it
 * started. Library function: returns data, never prints; progress goes to a callback.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { FourtupleError, UsageError } from '../errors.js';
import type { Sockstat } from '../limits/procfs.js';
import { ephemeralPortRange } from '../limits/procfs.js';
import { anyRemote, assertTargetsAllowed } from '../policy/targets.js';
import { type Tagged, tag } from '../result.js';
import { getNofileLimit } from '../sockets/rlimit.js';
import { readFileNr, readMem, readProcSize, readSockstatNow } from './_proc.js';
import type { Destination, EngineStats, VerifyResult, Wall } from './engine.js';
import type { FromWorker, ToWorker } from './messages.js';

export interface MaxOptions {
  /** connections to open; 'auto' = as many as the machine allows (planned from its limits) */
  connections: number | 'auto';
  /**
   * connect only, to these listeners: loopback, unless allowRemote (the workers live in this
   * namespace, so a lab's 198.18.0.0/15 hosts are not reachable from them; see policy/targets)
   */
  targets?: Destination[];
  /**
   * allow targets that are neither loopback nor lab hosts; then `connections` must be a number
   * and `rate` must be set (a remote run is never unbounded)
   */
  allowRemote?: boolean;
  /** worker processes; 'auto' = as many as the descriptor limit requires */
  workers?: number | 'auto';
  /** connects per second over all workers; 0 or undefined = as fast as possible */
  rate?: number;
  /** how long to hold the connections before verifying them */
  holdMs?: number;
  /** bound on the ramp; the run stops ramping when it passes */
  durationMs?: number;
  /** stop ramping before MemAvailable falls below this */
  memoryFloorBytes?: number;
  /** a descriptor budget per worker (lowers its RLIMIT_NOFILE soft limit) */
  fdsPerWorker?: number;
  /** connects in flight per worker */
  window?: number;
  /** workers ramping at the same time */
  concurrency?: number;
  /** addresses the workers listen on (default 127.0.0.1) */
  listenHosts?: string[];
  verifyTimeoutMs?: number;
  /** how often progress is sampled (default 1000 ms) */
  sampleMs?: number;
  signal?: AbortSignal;
}

export type StopReason =
  | 'target'
  | 'duration'
  | 'memory-guard'
  | 'wall'
  | 'interrupted'
  | 'worker-crash'
  | 'capacity';

export interface Sample {
  /** ms since the ramp started */
  t: number;
  established: number;
  accepted: number;
  /** connections established per second over the last interval */
  rate: number;
  failures: Record<string, number>;
  memAvailableBytes: number;
  slabBytes: number;
  rssBytes: number;
}

export interface Progress extends Sample {
  phase: 'startup' | 'ramp' | 'hold' | 'verify' | 'teardown';
  target: number;
  workers: number;
}

export interface MaxResult extends Tagged<'max'> {
  requested: number | 'auto';
  planned: number;
  mode: 'loopback' | 'target';
  targets: string[];
  workers: number;
  fdsPerWorker: number;
  connectionsPerWorker: number;
  /** peak concurrent established connections (client ends) */
  established: number;
  /** server ends accepted (0 with --target: the listener is not ours) */
  accepted: number;
  alive: number;
  dead: number;
  failures: Record<string, number>;
  stoppedBy: { reason: StopReason; detail: string; errno?: string; syscall?: string };
  timing: {
    startupMs: number;
    rampMs: number;
    timeToPeakMs: number;
    holdMs: number;
    verifyMs: number;
    teardownMs: number;
  };
  rate: { medianPerSec: number; peakPerSec: number; meanPerSec: number };
  memory: {
    slabBeforeBytes: number;
    slabPeakBytes: number;
    kernelBytesPerConnection: number;
    processRssBytes: number;
    processPssBytes: number;
    processRssBytesPerConnection: number;
    processPssBytesPerConnection: number;
    /** (Slab delta + summed RSS) / connections: the conservative figure */
    totalBytesPerConnection: number;
    /** (Slab delta + summed PSS) / connections: shared pages counted once */
    totalPssBytesPerConnection: number;
    memAvailableMinBytes: number;
    floorBytes: number;
  };
  sockstat: { before: Sockstat; peak: Sockstat; after: Sockstat; clean: boolean };
  limits: {
    nofileSoft: number;
    nofileHard: number;
    fileMax: number;
    ephemeralPorts: number;
    memTotalBytes: number;
    memAvailableBytes: number;
    cores: number;
  };
  crashes: { pid: number; code: number | null; signal: string | null }[];
  series: Sample[];
}

/** Descriptors a worker keeps for itself (node's own, IPC, epoll) before counting sockets. */
const WORKER_RESERVE_FDS = 64;
/** Kernel + process memory per connection assumed when planning 'auto' (measured ~12 KB). */
const PLAN_BYTES_PER_CONNECTION = 14 * 1024;

export function defaultMemoryFloor(totalBytes: number): number {
  return Math.max(Math.round(totalBytes * 0.1), 2 * 1024 ** 3);
}

/** Where the worker's compiled entry is: beside this file in dist/, or dist/ from the tests. */
function workerEntry(): string {
  const sibling = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  const dist = fileURLToPath(new URL('../../dist/scale/worker.js', import.meta.url));
  if (existsSync(dist)) return dist;
  throw new FourtupleError(
    'FOURTUPLE_NO_WORKER',
    `worker entry not found (looked for ${sibling}); run npm run build`,
  );
}

export interface Plan {
  connections: number;
  workers: number;
  fdsPerWorker: number;
  perWorker: number;
  /** what bounded an 'auto' plan */
  boundBy: string;
}

/** How many workers, descriptors and connections a run needs. Pure: inputs are the readings. */
export function planMax(input: {
  connections: number | 'auto';
  workers?: number | 'auto';
  fdsPerWorker: number;
  bothEnds: boolean;
  memAvailableBytes: number;
  memoryFloorBytes: number;
  fileMaxFree: number;
  ephemeralPorts: number;
  targets: number;
}): Plan {
  const fdsPerConn = input.bothEnds ? 2 : 1;
  const perWorkerCap = Math.max(
    1,
    Math.floor((input.fdsPerWorker - WORKER_RESERVE_FDS) / fdsPerConn),
  );
  const memoryBound = Math.max(
    0,
    Math.floor((input.memAvailableBytes - input.memoryFloorBytes) / PLAN_BYTES_PER_CONNECTION),
  );
  const fileBound = Math.floor((input.fileMaxFree * 0.95) / fdsPerConn);
  // With --target every worker connects from 127.0.0.1 to the same destinations: the ephemeral
  // range bounds the whole run per destination. Our own listeners get one port per worker.
  const portBound = input.bothEnds
    ? Number.POSITIVE_INFINITY
    : input.ephemeralPorts * input.targets;
  let connections: number;
  let boundBy = 'requested';
  if (input.connections === 'auto') {
    const bounds: [string, number][] = [
      ['memory (MemAvailable above the floor)', memoryBound],
      ['fs.file-max', fileBound],
      ['ephemeral ports per destination', portBound],
    ];
    bounds.sort((a, b) => a[1] - b[1]);
    connections = bounds[0]![1];
    boundBy = bounds[0]![0];
  } else {
    connections = input.connections;
  }
  let workers: number;
  if (input.workers === undefined || input.workers === 'auto') {
    workers = Math.max(1, Math.ceil(connections / perWorkerCap));
  } else {
    workers = input.workers;
  }
  const perWorker = Math.ceil(connections / workers);
  return { connections, workers, fdsPerWorker: input.fdsPerWorker, perWorker, boundBy };
}

interface WorkerHandle {
  child: ChildProcess;
  pid: number;
  ready?: Extract<FromWorker, { type: 'ready' }>;
  stats: EngineStats;
  quota: number;
  state: 'starting' | 'ready' | 'ramping' | 'ramped' | 'closed' | 'dead';
  verify?: VerifyResult;
  /** it reported an error: after a failed setup it exits by itself (code 1) */
  failed?: boolean;
  /** answers awaited, by type; each resolves with the answer, or undefined if none will come */
  waiters: Map<FromWorker['type'], (m: FromWorker | undefined) => void>;
}

function emptyStats(): EngineStats {
  return { established: 0, accepted: 0, inFlight: 0, attempted: 0, failures: {} };
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

function addFailures(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The target policy for `max`: loopback only; with allowRemote, a remote run
 * must name its size and its rate, so it can never be an unbounded flood.
 */
function checkMaxTargets(options: MaxOptions): void {
  const addresses = (options.targets ?? []).map((d) => d.host);
  assertTargetsAllowed(addresses, { allowRemote: options.allowRemote ?? false });
  if (!anyRemote(addresses)) return;
  if (options.connections === 'auto') {
    throw new UsageError(
      '--connections must be a number from 1 to 10000000 when a target is remote (auto is for loopback)',
      'connections',
    );
  }
  if (!options.rate) {
    throw new UsageError(
      '--rate is required when a target is remote (connects per second, 1 to 10000000)',
      'rate',
    );
  }
}

/** Opens as many connections as asked (or as the machine allows), holds, verifies, tears down. */
export async function runMax(
  options: MaxOptions,
  onProgress: (p: Progress) => void = () => {},
): Promise<MaxResult> {
  const signal = options.signal;
  signal?.throwIfAborted();
  const targets = options.targets ?? [];
  checkMaxTargets(options);
  const bothEnds = targets.length === 0;
  const listenHosts = options.listenHosts ?? ['127.0.0.1'];
  const nofile = getNofileLimit();
  const mem0 = readMem();
  const fileNr = readFileNr();
  const range = ephemeralPortRange();
  const cores = availableParallelism();
  const floor = options.memoryFloorBytes ?? defaultMemoryFloor(mem0.totalBytes);
  const plan = planMax({
    connections: options.connections,
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    fdsPerWorker: Math.min(options.fdsPerWorker ?? nofile.soft, nofile.soft),
    bothEnds,
    memAvailableBytes: mem0.availableBytes,
    memoryFloorBytes: floor,
    fileMaxFree: fileNr.max - fileNr.allocated,
    ephemeralPorts: range.size,
    targets: targets.length,
  });
  const window = options.window ?? 128;
  // 4 x cores workers ramp at once: each one waits on epoll whenever its window of connects is
  // in flight, so with fewer the cores idle between handshakes. Measured on 2 cores, 200,000
  // connections: 2 x cores 32-35k/s, 3 x 36-40k/s, 4 x 36-39k/s (bench/README).
  const concurrency = Math.max(1, Math.min(options.concurrency ?? cores * 4, plan.workers));
  const sampleMs = options.sampleMs ?? 1000;
  const durationMs = options.durationMs ?? 120_000;

  const sockBefore = readSockstatNow();
  const series: Sample[] = [];
  const crashes: MaxResult['crashes'] = [];
  const workers: WorkerHandle[] = [];
  let stopped: MaxResult['stoppedBy'] | undefined;
  let phase: Progress['phase'] = 'startup';
  const tStart = performance.now();
  let rampStart = tStart;
  let memMin = mem0.availableBytes;
  let peakEstablished = 0;
  let timeToPeak = 0;
  let slabPeak = mem0.slabBytes;
  let sockPeak = sockBefore;
  let sizesAtPeak = { rssBytes: 0, pssBytes: 0 };

  const totals = (): {
    established: number;
    accepted: number;
    failures: Record<string, number>;
  } => {
    let established = 0;
    let accepted = 0;
    const failures: Record<string, number> = {};
    for (const w of workers) {
      established += w.stats.established;
      accepted += w.stats.accepted;
      addFailures(failures, w.stats.failures);
    }
    return { established, accepted, failures };
  };

  const interrupt = (detail: string): void => {
    stopAll({ reason: 'interrupted', detail: `interrupted (${detail})` });
    wakeStartup?.();
  };
  let wakeStartup: (() => void) | undefined;
  // (a function: TypeScript narrows `stopped` in the loops below, not seeing closures set it)
  const interruptedNow = (): boolean => stopped?.reason === 'interrupted';

  /**
   * The first reason to stop is the one reported, with one exception: the end of the ramp
   * ('target', 'capacity') is not the end of the run, so an interruption or a worker crash
   * during the hold or the verify replaces it (else the run would read as a success).
   */
  const stopAll = (why: MaxResult['stoppedBy']): void => {
    const rampDone = stopped?.reason === 'target' || stopped?.reason === 'capacity';
    const endsRun = why.reason === 'interrupted' || why.reason === 'worker-crash';
    if (!stopped || (rampDone && endsRun)) stopped = why;
    for (const w of workers) if (w.state === 'ramping') post(w, { cmd: 'stop' });
  };

  const post = (w: WorkerHandle, m: ToWorker): void => {
    // A worker can die between the check and the write (Ctrl-C reaches the whole process
    // group): the write fails with EPIPE. Its 'exit' handler records why; the error must not
    // become an unhandled 'error' event that kills the coordinator.
    if (w.child.connected) w.child.send(m, () => {});
  };

  const waitFor = <T extends FromWorker['type']>(
    w: WorkerHandle,
    type: T,
    timeoutMs: number,
  ): Promise<Extract<FromWorker, { type: T }> | undefined> =>
    new Promise((resolve) => {
      if (w.state === 'dead') return resolve(undefined);
      const t = setTimeout(() => {
        w.waiters.delete(type);
        resolve(undefined);
      }, timeoutMs);
      w.waiters.set(type, (m) => {
        clearTimeout(t);
        resolve(m as Extract<FromWorker, { type: T }> | undefined);
      });
    });

  const failWaiters = (w: WorkerHandle): void => {
    const waiters = [...w.waiters.values()];
    w.waiters.clear();
    for (const waiter of waiters) waiter(undefined);
  };

  const spawnWorker = (): WorkerHandle => {
    const child = fork(workerEntry(), [], {
      // Lean workers: their base memory counts in every connection's cost.
      execArgv: ['--max-semi-space-size=1', '--single-threaded'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
    });
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
    child.on('message', (m: FromWorker) => {
      if (m.type === 'progress' || m.type === 'ramped') w.stats = m.stats;
      if (m.type === 'ramped') w.state = 'ramped';
      if (m.type === 'error') {
        w.failed = true;
        stopAll({ reason: 'worker-crash', detail: `worker ${w.pid}: ${m.message}` });
        // What it was asked will not be answered: end the waits now, not at their timeouts.
        failWaiters(w);
        return;
      }
      const wall = (m.type === 'progress' || m.type === 'ramped') && m.stats.wall;
      if (wall) stopAll(wallReason(wall, w));
      const waiter = w.waiters.get(m.type);
      if (waiter) {
        w.waiters.delete(m.type);
        waiter(m);
      }
    });
    child.on('exit', (code, sig) => {
      const was = w.state;
      w.state = 'dead';
      // Ctrl-C in a terminal signals the whole process group: workers exit on SIGINT/SIGTERM
      // (130/143) as the coordinator does. That is the user stopping the run, not a crash.
      const byUser = sig === 'SIGINT' || sig === 'SIGTERM' || code === 130 || code === 143;
      if (byUser) {
        if (phase !== 'teardown') {
          interrupt(`worker ${w.pid} got ${sig ?? (code === 130 ? 'SIGINT' : 'SIGTERM')}`);
        }
      } else if (was !== 'closed' && !(code === 0 && phase === 'teardown')) {
        crashes.push({ pid: w.pid, code, signal: sig });
        if (phase !== 'teardown') {
          stopAll({
            reason: 'worker-crash',
            detail: `worker ${w.pid} exited (${sig ?? `code ${code}`}) during ${phase}, with ${w.stats.established} connections established`,
          });
        }
      }
      // A dead worker answers nothing: every wait on it ends with undefined, never with a
      // stand-in message that a wait for 'ready' would take for the answer.
      failWaiters(w);
    });
    workers.push(w);
    return w;
  };

  const wallReason = (wall: Wall, w: WorkerHandle): MaxResult['stoppedBy'] => {
    const where: Record<string, string> = {
      EMFILE: `worker ${w.pid} reached its descriptor limit (RLIMIT_NOFILE ${w.ready?.fdLimit ?? '?'}) at ${wall.syscall}`,
      ENFILE: `the system-wide descriptor limit fs.file-max (${fileNr.max}) at ${wall.syscall}`,
      EADDRNOTAVAIL: `no ephemeral port left from 127.0.0.1 to ${wall.destination ?? 'the destination'} (range ${range.low}-${range.high}: ${range.size} ports per destination)`,
      ENOBUFS: 'the kernel ran out of socket buffer memory',
      ENOMEM: 'the kernel could not allocate memory for a socket',
      ECONNREFUSED: `nothing listens on ${wall.destination ?? 'the destination'} (the SYN was answered with an RST)`,
    };
    return {
      reason: 'wall',
      errno: wall.errno,
      syscall: wall.syscall,
      detail: `${wall.errno}: ${where[wall.errno] ?? wall.errno}`,
    };
  };

  const sample = (): void => {
    const now = performance.now();
    const t = Math.round(now - rampStart);
    const { established, accepted, failures } = totals();
    const mem = readMem();
    memMin = Math.min(memMin, mem.availableBytes);
    let rss = 0;
    if (phase === 'ramp' || phase === 'hold') {
      for (const w of workers) if (w.state !== 'dead') rss += readProcSize(w.pid).rssBytes;
    }
    const prev = series[series.length - 1];
    const dt = prev ? (t - prev.t) / 1000 : t / 1000;
    const rate = dt > 0 ? Math.round((established - (prev?.established ?? 0)) / dt) : 0;
    const s: Sample = {
      t,
      established,
      accepted,
      rate,
      failures,
      memAvailableBytes: mem.availableBytes,
      slabBytes: mem.slabBytes,
      rssBytes: rss,
    };
    if (phase === 'ramp' || phase === 'hold') series.push(s);
    onProgress({ ...s, phase, target: plan.connections, workers: workers.length });
    if (phase === 'ramp' && mem.availableBytes < floor) {
      stopAll({
        reason: 'memory-guard',
        detail: `stopped by the memory guard: MemAvailable ${Math.round(mem.availableBytes / 2 ** 20)} MiB fell below the floor of ${Math.round(floor / 2 ** 20)} MiB`,
      });
    }
  };

  const onAbort = (): void => {
    const reason = signal?.reason as { message?: string } | undefined;
    interrupt(reason?.message ?? String(reason ?? 'signal'));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let sampler: NodeJS.Timeout | undefined;
  let guard: NodeJS.Timeout | undefined;

  try {
    // ---- startup: spawn and set up every worker, a few at a time
    for (let i = 0; i < plan.workers && !stopped; i += 8) {
      const batch: WorkerHandle[] = [];
      for (let j = i; j < Math.min(i + 8, plan.workers); j++) {
        const w = spawnWorker();
        post(w, {
          cmd: 'setup',
          listenHosts: bothEnds ? listenHosts : [],
          targets,
          ...(options.fdsPerWorker ? { fdLimit: options.fdsPerWorker } : {}),
          backlog: 4096,
        });
        batch.push(w);
      }
      const booted = Promise.all(batch.map((w) => waitFor(w, 'ready', 15_000)));
      // Interrupted while workers boot: go to teardown now (workers still booting have no
      // connection; teardown signals them) instead of waiting for the whole batch.
      const woken = new Promise<undefined>((resolve) => {
        wakeStartup = () => resolve(undefined);
      });
      const readies = (await Promise.race([booted, woken])) ?? [];
      wakeStartup = undefined;
      if (interruptedNow()) break;
      readies.forEach((r, k) => {
        const w = batch[k]!;
        if (r && w.state === 'starting') {
          w.ready = r;
          w.state = 'ready';
        } else if (w.state === 'starting' && !stopped) {
          stopAll({ reason: 'worker-crash', detail: `worker ${w.pid} did not start` });
        }
      });
    }
    const startupMs = Math.round(performance.now() - tStart);

    // ---- ramp: each worker gets its share; `concurrency` of them ramp at once
    let remaining = plan.connections;
    for (const w of workers) {
      const cap = w.ready?.capacity ?? 0;
      w.quota = Math.min(remaining, plan.perWorker, cap > 0 ? cap : plan.perWorker);
      remaining -= w.quota;
    }
    // A worker whose capacity is below its share (a tiny --fds-per-worker) hits EMFILE for real.
    if (remaining > 0) {
      const last = workers[workers.length - 1];
      if (last) last.quota += remaining;
    }
    phase = 'ramp';
    rampStart = performance.now();
    sampler = setInterval(sample, sampleMs);
    guard = setInterval(() => {
      const m = readMem();
      if (m.availableBytes < floor && phase === 'ramp') sample();
    }, 250);
    const perWorkerRate = options.rate ? options.rate / concurrency : 0;
    const queue = workers.filter((w) => w.state === 'ready' && w.quota > 0);
    const active = new Set<WorkerHandle>();
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(() => {
        stopAll({ reason: 'duration', detail: `the ramp reached --duration (${durationMs} ms)` });
      }, durationMs);
      const startNext = (): void => {
        while (!stopped && active.size < concurrency && queue.length) {
          const w = queue.shift()!;
          active.add(w);
          w.state = 'ramping';
          post(w, { cmd: 'ramp', connections: w.quota, window, rate: perWorkerRate });
          void waitFor(w, 'ramped', durationMs + 60_000).then(() => {
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
    const rampMs = Math.round(performance.now() - rampStart);
    const t = totals();
    peakEstablished = t.established;
    const lastRising = [...series].reverse().find((s) => s.established < peakEstablished);
    timeToPeak = Math.min(rampMs, lastRising ? Math.round(lastRising.t + sampleMs) : rampMs);
    if (!stopped) {
      stopped =
        peakEstablished >= plan.connections
          ? { reason: 'target', detail: `reached the requested ${plan.connections} connections` }
          : { reason: 'capacity', detail: 'the workers could not hold more' };
    }
    // Peak measurements.
    const memPeak = readMem();
    slabPeak = memPeak.slabBytes;
    sockPeak = readSockstatNow();
    sizesAtPeak = workers.reduce((acc, w) => {
      if (w.state === 'dead') return acc;
      const s = readProcSize(w.pid);
      return { rssBytes: acc.rssBytes + s.rssBytes, pssBytes: acc.pssBytes + s.pssBytes };
    }, readProcSize(process.pid));
    sample();

    // ---- hold
    phase = 'hold';
    const holdMs = signal?.aborted ? 0 : (options.holdMs ?? 10_000);
    const holdUntil = performance.now() + holdMs;
    while (performance.now() < holdUntil && !signal?.aborted)
      await sleep(Math.min(200, holdUntil - performance.now()));

    // ---- verify: every held connection sends a byte and reads the echo
    phase = 'verify';
    const tv = performance.now();
    let alive = 0;
    let dead = 0;
    if (!signal?.aborted) {
      // Only workers that answered setup hold connections (one that failed to boot never did).
      const live = workers.filter(
        (w) => w.state === 'ready' || w.state === 'ramping' || w.state === 'ramped',
      );
      const results = await Promise.all(
        live.map((w) => {
          post(w, { cmd: 'verify', timeoutMs: options.verifyTimeoutMs ?? 30_000 });
          return waitFor(w, 'verified', (options.verifyTimeoutMs ?? 30_000) + 10_000);
        }),
      );
      // A worker that crashed (before or during the verify) took its connections with it: they
      // count in `established` (the peak) and are not alive, so they are dead; otherwise
      // alive + dead < established and a crash would look like connections never made.
      for (const w of workers) {
        const k = live.indexOf(w);
        const r = k >= 0 ? results[k] : undefined;
        if (r && r.type === 'verified') {
          alive += r.result.alive;
          dead += r.result.dead;
        } else if (w.state === 'dead') dead += w.stats.established;
      }
    }
    const verifyMs = Math.round(performance.now() - tv);
    clearInterval(sampler);
    clearInterval(guard);

    // ---- teardown
    phase = 'teardown';
    const tt = performance.now();
    await teardown(workers, post, waitFor);
    // Interrupted, the process has 5 s to exit (runMain): waiting the full 10 s for sockstat,
    // which other programs' sockets can keep from settling, would lose the partial result.
    const sockAfter = await settleSockstat(
      sockBefore,
      peakEstablished,
      signal?.aborted ? 1500 : 10_000,
    );
    const teardownMs = Math.round(performance.now() - tt);

    // Per-second rates from the regular samples only (the extra sample taken at the ramp's end
    // covers a fraction of an interval and would exaggerate).
    const rates = series
      .filter((s, i) => s.rate > 0 && s.t - (series[i - 1]?.t ?? 0) >= sampleMs * 0.75)
      .map((s) => s.rate);
    const kernel = Math.max(0, slabPeak - mem0.slabBytes);
    // Nothing established: no per-connection figure (0, which the CLI prints as n/a).
    const n = peakEstablished > 0 ? peakEstablished : Number.POSITIVE_INFINITY;
    const final = totals();
    return {
      ...tag('max'),
      requested: options.connections,
      planned: plan.connections,
      mode: bothEnds ? 'loopback' : 'target',
      targets: targets.map((d) => `${d.host}:${d.port}`),
      workers: workers.length,
      fdsPerWorker: plan.fdsPerWorker,
      connectionsPerWorker: plan.perWorker,
      established: peakEstablished,
      accepted: final.accepted,
      alive,
      dead,
      failures: final.failures,
      stoppedBy: stopped ?? { reason: 'target', detail: '' },
      timing: { startupMs, rampMs, timeToPeakMs: timeToPeak, holdMs, verifyMs, teardownMs },
      rate: (() => {
        const meanPerSec = rampMs > 0 ? Math.round((peakEstablished / rampMs) * 1000) : 0;
        // A ramp shorter than a sample interval has no whole second to take a median of.
        return rates.length
          ? { medianPerSec: median(rates), peakPerSec: Math.max(...rates), meanPerSec }
          : { medianPerSec: meanPerSec, peakPerSec: meanPerSec, meanPerSec };
      })(),
      memory: {
        slabBeforeBytes: mem0.slabBytes,
        slabPeakBytes: slabPeak,
        kernelBytesPerConnection: Math.round(kernel / n),
        processRssBytes: sizesAtPeak.rssBytes,
        processPssBytes: sizesAtPeak.pssBytes,
        processRssBytesPerConnection: Math.round(sizesAtPeak.rssBytes / n),
        processPssBytesPerConnection: Math.round(sizesAtPeak.pssBytes / n),
        totalBytesPerConnection: Math.round((kernel + sizesAtPeak.rssBytes) / n),
        totalPssBytesPerConnection: Math.round((kernel + sizesAtPeak.pssBytes) / n),
        memAvailableMinBytes: memMin,
        floorBytes: floor,
      },
      sockstat: {
        before: sockBefore,
        peak: sockPeak,
        after: sockAfter.sockstat,
        clean: sockAfter.clean,
      },
      limits: {
        nofileSoft: nofile.soft,
        nofileHard: nofile.hard,
        fileMax: fileNr.max,
        ephemeralPorts: range.size,
        memTotalBytes: mem0.totalBytes,
        memAvailableBytes: mem0.availableBytes,
        cores,
      },
      crashes,
      series,
    };
  } finally {
    if (sampler) clearInterval(sampler);
    if (guard) clearInterval(guard);
    signal?.removeEventListener('abort', onAbort);
    // Whatever happened, no worker outlives the run.
    phase = 'teardown';
    for (const w of workers) {
      if (w.state !== 'dead' && w.state !== 'closed') w.child.kill('SIGTERM');
    }
  }
}

async function teardown(
  workers: WorkerHandle[],
  post: (w: WorkerHandle, m: ToWorker) => void,
  waitFor: (w: WorkerHandle, type: 'closed', ms: number) => Promise<unknown>,
): Promise<void> {
  await Promise.all(
    workers
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
          post(w, { cmd: 'teardown' });
          const r = await waitFor(w, 'closed', 15_000);
          w.state = r ? 'closed' : w.state;
        }
        await new Promise<void>((resolve) => {
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
      }),
  );
}

/**
 * Waits (up to `waitMs`) for /proc/net/sockstat to come back to its level before the run: the
 * RSTs leave no TIME_WAIT, and the kernel frees sockets asynchronously.
 */
async function settleSockstat(
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

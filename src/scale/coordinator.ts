/**
 * `max`: the coordinator. Plans how many worker processes the connections need (each worker is
 * capped by its RLIMIT_NOFILE, 20000 here and not raisable, and both ends of a loopback
 * connection cost a descriptor), starts them, ramps them a few at a time, holds, verifies every
 * connection with an echo, tears down with RSTs and checks /proc/net/sockstat is back where it
 * started. Library function: returns data, never prints; progress goes to a callback.
 */

import { readProcInodes } from '../limits/procfs.js';
import { countOwn, readMem, readSockstatNow, readTcpEntries } from './_proc.js';
import type { ToWorker } from './messages.js';
import {
  hold,
  noteListenQueue,
  Ramp,
  STARTUP_BATCH,
  settleSockstat,
  startup,
  teardown,
  verify,
  verifyBudgetMs,
} from './phases.js';
import {
  checkMaxTargets,
  defaultDurationMs,
  defaultMemoryFloor,
  fitsMore,
  type Machine,
  type Plan,
  planMax,
  quotaFor,
  readMachine,
} from './plan.js';
import { type WorkerHandle, WorkerPool } from './pool.js';
import { DEFAULT_PORT_STRATEGY } from './ports.js';
import { resolveProbe } from './probe.js';
import { RunState, wallStop } from './run-state.js';
import { Sampler } from './sampler.js';
import { type Peak, summarize } from './summary.js';
import { runMaxTls } from './tls.js';
import type { MaxOptions, MaxResult, Progress } from './types.js';

export { defaultMemoryFloor, type Plan, planMax } from './plan.js';
export type {
  Crash,
  MaxOptions,
  MaxResult,
  MaxTlsOptions,
  Phase,
  Progress,
  Sample,
  StoppedBy,
  StopReason,
  TlsResult,
  TlsRunFigures,
  TlsSideCost,
} from './types.js';

/** One run's parts: what it was asked, what it planned, and who runs it. */
interface Run {
  options: MaxOptions;
  machine: Machine;
  plan: Plan;
  floorBytes: number;
  state: RunState;
  pool: WorkerPool;
  sampler: Sampler;
}

/** Opens as many connections as asked (or as the machine allows), holds, verifies, tears down. */
export async function runMax(
  options: MaxOptions,
  onProgress: (p: Progress) => void = () => {},
): Promise<MaxResult> {
  if (options.tls) return runMaxTls(options, onProgress);
  const signal = options.signal;
  signal?.throwIfAborted();
  checkMaxTargets(options);
  const machine = readMachine();
  const floorBytes = options.memoryFloorBytes ?? defaultMemoryFloor(machine.mem.totalBytes);
  const plan = planMax({
    connections: options.connections,
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    fdsPerWorker: Math.min(options.fdsPerWorker ?? machine.nofile.soft, machine.nofile.soft),
    bothEnds: (options.targets ?? []).length === 0,
    memAvailableBytes: machine.mem.availableBytes,
    memoryFloorBytes: floorBytes,
    fileMaxFree: machine.fileNr.max - machine.fileNr.allocated,
    fileMaxExempt: machine.fileMaxExempt,
    ephemeralPorts: machine.range.size,
    targets: (options.targets ?? []).length,
  });
  const state = new RunState();
  const pool = new WorkerPool(state, (wall, w) =>
    wallStop(wall, {
      pid: w.pid,
      fdLimit: w.ready?.fdLimit,
      fileMax: machine.fileNr.max,
      range: machine.range,
    }),
  );
  const sampler = new Sampler(state, pool, {
    floorBytes,
    sampleMs: options.sampleMs ?? 250,
    target: plan.connections,
    memAvailableBytes: machine.mem.availableBytes,
    onProgress,
  });
  const onAbort = (): void => {
    // Words for the detail only (an InterruptedError says which signal); nothing is decided
    // from them.
    const reason: unknown = signal?.reason;
    const detail = reason instanceof Error ? reason.message : String(reason ?? 'signal');
    state.stop({ reason: 'interrupted', detail: `interrupted (${detail})` });
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await phases({ options, machine, plan, floorBytes, state, pool, sampler });
  } finally {
    sampler.stop();
    signal?.removeEventListener('abort', onAbort);
    state.phase = 'teardown';
    pool.killRemaining();
  }
}

/** The run's phases in order, each timed; then the summary. */
async function phases(run: Run): Promise<MaxResult> {
  const { options, plan, state, pool, sampler } = run;
  const signal = options.signal;
  const sockBefore = readSockstatNow();
  // the sockets there before the run that look like its own (another client of the same
  // target, an old TIME_WAIT on a port a listener gets again): not counted as left behind
  const tcpBefore = readTcpEntries();
  const { startupMs, rampMs, peak } = await startAndRamp(run);
  noteListenQueue(state, options.targets);
  const own = {
    listenPorts: pool.workers.flatMap((w) => (w.ready?.listeners ?? []).map((l) => l.port)),
    targets: options.targets ?? [],
  };
  const already = countOwn(tcpBefore, own.listenPorts, own.targets);

  state.phase = 'hold';
  const intervalMs = options.probeIntervalMs ?? 0;
  const holdMs = await hold(options.holdMs ?? 10_000, signal, { run: state, pool, intervalMs });
  if (!signal?.aborted) heldPeak(peak);

  state.phase = 'verify';
  const tv = performance.now();
  const verifyTimeoutMs =
    options.verifyTimeoutMs ?? verifyBudgetMs(plan.perWorker, plan.workers, run.machine.cores);
  const checked = signal?.aborted
    ? { alive: 0, dead: 0, unverified: peak.established }
    : await verify(pool, verifyTimeoutMs);
  const verifyMs = Math.round(performance.now() - tv);
  sampler.stop();

  state.phase = 'teardown';
  const tt = performance.now();
  await teardown(pool, signal?.aborted ?? false);
  // Interrupted, the process has 5 s to exit (runMain): waiting the full 10 s for sockstat,
  // which other programs' sockets can keep from settling, would lose the partial result.
  const sockAfter = await settleSockstat(signal?.aborted ? 1500 : 10_000, {
    before: sockBefore,
    ...own,
    already,
  });
  const teardownMs = Math.round(performance.now() - tt);
  return summarize({
    ...run,
    sockBefore,
    sockAfter,
    peak,
    ...checked,
    verifyTimeoutMs,
    stoppedBy: state.stoppedBy ?? { reason: 'target', detail: '' },
    timing: {
      startupMs,
      rampMs,
      timeToPeakMs: peak.timeToPeakMs,
      holdMs,
      verifyMs,
      teardownMs,
    },
  });
}

/**
 * Start-up and ramp. The ramp starts on the first worker that is ready while the others boot
 * (booting a worker costs as much CPU as thousands of handshakes: at 1M, 14 s of start-up came
 * before the first connect), each worker taking its share of the plan as it is ready. With a
 * `beforeRamp` hook (a cluster's barrier) every worker boots first, and the hook runs between
 * the last boot and the first connect. `startupMs` is the time before the first connect.
 * Then the peak's measurements, and the end of the ramp as the reason to stop if nothing else
 * stopped it.
 */
async function startAndRamp(run: Run): Promise<{ startupMs: number; rampMs: number; peak: Peak }> {
  const { options, machine, plan, state, pool, sampler } = run;
  const tStart = performance.now();
  // 4 x cores workers ramp at once: each one waits on epoll whenever its window of connects is
  // in flight, so with fewer the cores idle between handshakes. Measured on 2 cores, 200,000
  // connections: 2 x cores 32-35k/s, 3 x 36-40k/s, 4 x 36-39k/s (bench/README).
  const concurrency = Math.max(1, Math.min(options.concurrency ?? machine.cores * 4, plan.workers));
  const rampOptions = {
    window: options.window ?? 128,
    concurrency,
    rate: options.rate ?? 0,
    durationMs: options.durationMs ?? defaultDurationMs({ connections: options.connections }),
  };
  let ramp: Ramp | undefined;
  let rampStart = 0;
  const begin = (): Ramp => {
    if (ramp) return ramp;
    state.phase = 'ramp';
    sampler.start();
    rampStart = performance.now();
    ramp = new Ramp(state, pool, rampOptions);
    return ramp;
  };
  let assigned = 0;
  let ready = 0;
  const give = (w: WorkerHandle): void => {
    w.quota = quotaFor(plan, assigned, ready++, w.ready?.capacity ?? 0);
    assigned += w.quota;
    begin().add(w);
  };
  // 'auto' starts no more workers once the memory above the floor is spoken for, at the cost
  // per connection measured so far (the fall of the memory free for sockets, workers included)
  let full: string | undefined;
  const wanted = (): boolean => {
    if (options.connections !== 'auto') return true;
    const established = pool.totals().established;
    const mem = readMem();
    const costBytes =
      established > 0 ? (machine.mem.availableBytes - mem.availableBytes) / established : 0;
    if (
      fitsMore({
        established,
        assigned,
        costBytes,
        freeBytes: mem.availableBytes,
        floorBytes: run.floorBytes,
      })
    ) {
      return true;
    }
    full = `${established} held at ${Math.round(costBytes)} B each (the fall of the memory free for sockets, measured while ramping) and ${assigned} given out: the memory free for sockets above the floor of ${Math.round(run.floorBytes / 2 ** 20)} MiB holds no more`;
    return false;
  };
  // Booting a worker costs CPU the ramp needs: boot at most a batch ahead of what it consumes.
  const gate = async (): Promise<boolean> => {
    while (!state.stopped && ramp && ramp.pending >= concurrency + STARTUP_BATCH) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return !state.stopped && wanted();
  };
  const setup = setupMessage(options);
  if (options.beforeRamp) {
    await startup(state, pool, plan.workers, setup);
    if (!state.stopped) await options.beforeRamp();
    begin();
    for (const w of pool.workers) if (w.state === 'ready') give(w);
  } else {
    await startup(state, pool, plan.workers, setup, give, gate);
  }
  const r = begin();
  r.close();
  const startupMs = Math.round(rampStart - tStart);
  await r.done;
  // The ramp's last sample is its end: its time and count are the ramp's, so the mean rate
  // (count / time) is read from the same series as the peak and cannot exceed it.
  const end = sampler.sample();
  const rampMs = end.t;
  const peak = measurePeak(run, rampMs);
  if (!state.stopped) {
    state.stop(
      peak.established >= plan.connections
        ? { reason: 'target', detail: `reached the requested ${plan.connections} connections` }
        : full
          ? { reason: 'memory-guard', detail: `stopped by the memory guard: ${full}` }
          : { reason: 'capacity', detail: 'the workers could not hold more' },
    );
  }
  return { startupMs, rampMs, peak };
}

/** What every worker is asked to set up: its listeners (loopback mode) or the targets. */
function setupMessage(options: MaxOptions): Extract<ToWorker, { cmd: 'setup' }> {
  const targets = options.targets ?? [];
  return {
    cmd: 'setup',
    listenHosts: targets.length === 0 ? (options.listenHosts ?? ['127.0.0.1']) : [],
    targets,
    ...(options.fdsPerWorker ? { fdLimit: options.fdsPerWorker } : {}),
    backlog: 4096,
    probe: resolveProbe(options.probe, targets[0]?.host),
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    portStrategy: options.portStrategy ?? DEFAULT_PORT_STRATEGY,
  };
}

/**
 * The kernel's memory at the end of the hold, when more than at the end of the ramp: what
 * holding the connections costs, /proc inodes included that a program listing descriptors
 * made after the ramp (on the development VM one passes every few seconds: a 100k run read 7.9
 * KiB a connection at the end of its ramp and ~9.7 at the end of a 5 s hold).
 */
function heldPeak(peak: Peak): void {
  const slab = readMem().slabBytes;
  if (slab <= peak.slabBytes) return;
  peak.slabBytes = slab;
  peak.procInodes = readProcInodes()?.count ?? peak.procInodes;
}

/** The ramp's peak: connections, memory (kernel Slab, worker RSS/PSS) and sockets. */
function measurePeak(run: Run, rampMs: number): Peak {
  const established = run.pool.totals().established;
  return {
    established,
    timeToPeakMs: run.sampler.timeToPeak(rampMs, established),
    slabBytes: readMem().slabBytes,
    procInodes: readProcInodes()?.count,
    sockstat: readSockstatNow(),
    sizes: run.pool.sizes(),
  };
}

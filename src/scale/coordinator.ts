/**
 * `max`: the coordinator. Plans how many worker processes the connections need (each worker is
 * capped by its RLIMIT_NOFILE, 20000 here and not raisable, and both ends of a loopback
 * connection cost a descriptor), starts them, ramps them a few at a time, holds, verifies every
 * connection with an echo, tears down with RSTs and checks /proc/net/sockstat is back where it
 * started. Library function: returns data, never prints; progress goes to a callback.
 */

import { ownSocketsLeft, readMem, readSockstatNow } from './_proc.js';
import type { ToWorker } from './messages.js';
import {
  hold,
  noteListenQueue,
  ramp,
  settleSockstat,
  startup,
  teardown,
  verify,
  verifyBudgetMs,
} from './phases.js';
import {
  assignQuotas,
  checkMaxTargets,
  defaultMemoryFloor,
  type Machine,
  type Plan,
  planMax,
  readMachine,
} from './plan.js';
import { WorkerPool } from './pool.js';
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
    sampleMs: options.sampleMs ?? 1000,
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
  const tStart = performance.now();
  await startup(state, pool, plan.workers, setupMessage(options));
  const startupMs = Math.round(performance.now() - tStart);
  if (options.beforeRamp && !state.stopped) await options.beforeRamp();
  // what is already there that looks like ours (another client of the same target): not ours
  const own = {
    listenPorts: pool.workers.flatMap((w) => (w.ready?.listeners ?? []).map((l) => l.port)),
    targets: options.targets ?? [],
  };
  const already = ownSocketsLeft(own.listenPorts, own.targets);
  const { rampMs, peak } = await rampToPeak(run);
  noteListenQueue(state, options.targets);

  state.phase = 'hold';
  const intervalMs = options.probeIntervalMs ?? 0;
  const holdMs = await hold(options.holdMs ?? 10_000, signal, { run: state, pool, intervalMs });

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
  await teardown(pool);
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
 * The ramp: shares the connections among the ready workers and opens them; then the peak's
 * measurements, and the end of the ramp as the reason to stop if nothing else stopped it.
 */
async function rampToPeak(run: Run): Promise<{ rampMs: number; peak: Peak }> {
  const { options, machine, plan, state, pool, sampler } = run;
  const quotas = assignQuotas(
    plan,
    pool.workers.map((w) => w.ready?.capacity ?? 0),
  );
  pool.workers.forEach((w, k) => {
    w.quota = quotas[k]!;
  });
  state.phase = 'ramp';
  sampler.start();
  const rampStart = performance.now();
  // 4 x cores workers ramp at once: each one waits on epoll whenever its window of connects is
  // in flight, so with fewer the cores idle between handshakes. Measured on 2 cores, 200,000
  // connections: 2 x cores 32-35k/s, 3 x 36-40k/s, 4 x 36-39k/s (bench/README).
  const concurrency = Math.max(1, Math.min(options.concurrency ?? machine.cores * 4, plan.workers));
  const durationMs = options.durationMs ?? 120_000;
  await ramp(state, pool, {
    window: options.window ?? 128,
    concurrency,
    rate: options.rate ?? 0,
    durationMs,
  });
  const rampMs = Math.round(performance.now() - rampStart);
  const peak = measurePeak(run, rampMs);
  if (!state.stopped) {
    state.stop(
      peak.established >= plan.connections
        ? { reason: 'target', detail: `reached the requested ${plan.connections} connections` }
        : { reason: 'capacity', detail: 'the workers could not hold more' },
    );
  }
  sampler.sample();
  return { rampMs, peak };
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
  };
}

/** The ramp's peak: connections, memory (kernel Slab, worker RSS/PSS) and sockets. */
function measurePeak(run: Run, rampMs: number): Peak {
  const established = run.pool.totals().established;
  return {
    established,
    timeToPeakMs: run.sampler.timeToPeak(rampMs, established),
    slabBytes: readMem().slabBytes,
    sockstat: readSockstatNow(),
    sizes: run.pool.sizes(),
  };
}

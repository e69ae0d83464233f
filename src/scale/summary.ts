/**
 * The summary of a `max` run: its readings, peak measurements and timings, put together as the
 * MaxResult the library returns (tagged `max`), with the per-connection costs worked out.
 */
import type { Sockstat } from '../limits/procfs.js';
import { tag } from '../result.js';
import { type Machine, machineLimits, type Plan } from './plan.js';
import type { WorkerPool } from './pool.js';
import { DEFAULT_PORT_STRATEGY } from './ports.js';
import {
  type FailureKind,
  type FailureKinds,
  type FailureRecord,
  resolveProbe,
  serverWallWords,
} from './probe.js';
import { flatCost } from './rates.js';
import type { RunState } from './run-state.js';
import type { Sampler } from './sampler.js';
import type { MaxOptions, MaxResult, StoppedBy } from './types.js';

/** What the run measured at the end of its ramp. */
export interface Peak {
  established: number;
  timeToPeakMs: number;
  slabBytes: number;
  /** /proc inodes in use at the peak (readProcInodes().count) */
  procInodes?: number;
  sockstat: Sockstat;
  sizes: { rssBytes: number; pssBytes: number };
}

export interface RunRecord {
  options: MaxOptions;
  machine: Machine;
  plan: Plan;
  floorBytes: number;
  sockBefore: Sockstat;
  sockAfter: { sockstat: Sockstat; clean: boolean };
  peak: Peak;
  alive: number;
  dead: number;
  unverified: number;
  verifyTimeoutMs: number;
  stoppedBy: StoppedBy;
  timing: MaxResult['timing'];
  pool: WorkerPool;
  sampler: Sampler;
  state: RunState;
}

/** The failures by kind, their times made relative to the start of the ramp. */
function relativeKinds(kinds: FailureKinds, rampAt: number): FailureKinds {
  const out: FailureKinds = {};
  for (const [k, v] of Object.entries(kinds) as [FailureKind, FailureRecord][]) {
    out[k] = {
      ...v,
      ...(v.firstAtMs !== undefined ? { firstAtMs: Math.max(0, v.firstAtMs - rampAt) } : {}),
      ...(v.lastAtMs !== undefined ? { lastAtMs: Math.max(0, v.lastAtMs - rampAt) } : {}),
    };
  }
  return out;
}

/**
 * The server's wall in words, with the counts of the whole run: "the server stopped accepting
 * at 2,000 connections: it answered `-ERR max number of clients reached` and closed (...)".
 */
function nameServerWall(why: StoppedBy, kinds: FailureKinds, held: number): StoppedBy {
  // a refused SYN keeps the words that name the destination
  if (why.side !== 'server' || !why.kind || why.kind === 'refused') return why;
  const rec = kinds[why.kind] ?? { count: 0 };
  let detail = serverWallWords(why.kind, rec, held, why.listenQueue);
  const q = why.listenQueue;
  if (q && why.kind === 'connect-timeout') {
    detail += `; its listen queue holds ${q.queued} of a backlog of ${q.backlog} (ss -ltn Recv-Q/Send-Q)`;
  }
  return { ...why, detail };
}

/** Kernel (Slab delta) and process (RSS, PSS) memory, in all and per connection. */
function memory(r: RunRecord): MaxResult['memory'] {
  const { peak, machine } = r;
  const kernel = Math.max(0, peak.slabBytes - machine.mem.slabBytes);
  // Nothing established: no per-connection figure (0, which the CLI prints as n/a).
  const n = peak.established > 0 ? peak.established : Number.POSITIVE_INFINITY;
  const { rssBytes, pssBytes } = peak.sizes;
  return {
    slabBeforeBytes: machine.mem.slabBytes,
    slabPeakBytes: peak.slabBytes,
    kernelBytesPerConnection: Math.round(kernel / n),
    processRssBytes: rssBytes,
    processPssBytes: pssBytes,
    processRssBytesPerConnection: Math.round(rssBytes / n),
    processPssBytesPerConnection: Math.round(pssBytes / n),
    totalBytesPerConnection: Math.round((kernel + rssBytes) / n),
    totalPssBytesPerConnection: Math.round((kernel + pssBytes) / n),
    memAvailableMinBytes: r.sampler.memMinBytes,
    floorBytes: r.floorBytes,
    ...observerBytes(r, n),
  };
}

/**
 * Of the Slab delta, what a program listing descriptors added: /proc inodes and dentries, at
 * most one per descriptor a connection holds (other processes' are listed too).
 */
function observerBytes(r: RunRecord, n: number): { observerBytesPerConnection?: number } {
  const before = r.machine.procInodes;
  const peak = r.peak.procInodes;
  if (!before || peak === undefined || !Number.isFinite(n)) return {};
  const perConnection = r.options.targets?.length ? 1 : 2;
  const inodes = Math.min(Math.max(0, peak - before.count), perConnection * n);
  return { observerBytesPerConnection: Math.round((inodes * before.bytesEach) / n) };
}

export function summarize(r: RunRecord): MaxResult {
  const { options, machine, plan, peak, pool } = r;
  const targets = options.targets ?? [];
  const final = pool.totals();
  const rampAt = r.state.phaseStartedAt.ramp ?? Date.now();
  const kinds = relativeKinds(final.kinds, rampAt);
  const probe = resolveProbe(options.probe, targets[0]?.host);
  return {
    ...tag('max'),
    requested: options.connections,
    planned: plan.connections,
    mode: targets.length === 0 ? 'loopback' : 'target',
    targets: targets.map((d) => `${d.host}:${d.port}`),
    workers: pool.workers.length,
    fdsPerWorker: plan.fdsPerWorker,
    connectionsPerWorker: plan.perWorker,
    portStrategy: options.portStrategy ?? DEFAULT_PORT_STRATEGY,
    established: peak.established,
    accepted: final.accepted,
    alive: r.alive,
    dead: r.dead,
    unverified: r.unverified,
    failures: final.failures,
    failuresByKind: kinds,
    probes: {
      probe: probe.name,
      kind: probe.kind,
      intervalMs: options.probeIntervalMs ?? 0,
      verifyTimeoutMs: r.verifyTimeoutMs,
      rounds: r.state.probeRounds,
    },
    stoppedBy: nameServerWall(r.stoppedBy, kinds, peak.established),
    timing: r.timing,
    rate: r.sampler.rates(r.timing.rampMs),
    flatCost: flatCost(
      r.sampler.series.filter((s) => s.t <= r.timing.rampMs),
      peak.established,
    ),
    memory: memory(r),
    sockstat: {
      before: r.sockBefore,
      peak: peak.sockstat,
      after: r.sockAfter.sockstat,
      clean: r.sockAfter.clean,
    },
    limits: machineLimits(machine),
    crashes: pool.crashes,
    series: r.sampler.series,
  };
}

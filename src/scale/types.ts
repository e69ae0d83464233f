/**
 * The shapes of `max`: its options, why a run stopped, the progress samples and the result.
 * Re-exported by coordinator.ts, where the library's users import them.
 */
import type { Sockstat } from '../limits/procfs.js';
import type { Tagged } from '../result.js';
import type { Destination } from './engine.js';
import type { PortStrategy } from './ports.js';
import type { FailureKind, FailureKinds, Probe } from './probe.js';
import type { FlatCost } from './rates.js';

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
  /**
   * how long each worker's verify may take; default: scaled with the connections per worker and
   * the workers sharing each core (a connection not checked in time is unverified, not dead)
   */
  verifyTimeoutMs?: number;
  /**
   * how each connection is checked: 'echo' (fourtuple's listeners), 'none' (still open),
   * 'redis', 'http', 'send:DATA,expect:PREFIX', or a Probe
   */
  probe?: Probe | string;
  /** also probe every connection this often during the hold (0 or undefined: only at verify) */
  probeIntervalMs?: number;
  /** a connect whose SYN is unanswered this long fails with ETIMEDOUT (default 5000 ms) */
  connectTimeoutMs?: number;
  /** how often progress is sampled during the ramp (default 250 ms; the hold: every second) */
  sampleMs?: number;
  /** how each connection gets its source address and port (default: DEFAULT_PORT_STRATEGY) */
  portStrategy?: PortStrategy;
  signal?: AbortSignal;
  /**
   * Awaited once every worker is up, right before the first connect: a cluster agent waits here
   * for the common start of all agents (its barrier). A throw ends the run; workers are torn down.
   */
  beforeRamp?: () => Promise<void>;
}

export type StopReason =
  | 'target'
  | 'duration'
  | 'memory-guard'
  | 'wall'
  | 'interrupted'
  | 'worker-crash'
  | 'capacity';

/** Why the run stopped: the reason, in words, and the errno and call when a wall stopped it. */
export interface StoppedBy {
  reason: StopReason;
  detail: string;
  errno?: string;
  syscall?: string;
  /** for a wall: whose it was, this client's (ports, descriptors, memory) or the server's */
  side?: 'client' | 'server';
  /** for the server's wall: what it did (closed at once, SYNs unanswered, refused...) */
  kind?: FailureKind;
  /** the server's listen queue when its SYNs went unanswered (from `ss -ltn`), and somaxconn */
  listenQueue?: { queued: number; backlog: number; somaxconn: number };
}

/** One probe round during the hold (--probe-interval). */
export interface ProbeRound {
  /** ms since the ramp started */
  tMs: number;
  alive: number;
  /** lost since the previous round, on evidence (the time they were found dead) */
  died: number;
  unverified: number;
}

/** A worker that exited when it should not have. */
export interface Crash {
  pid: number;
  code: number | null;
  signal: string | null;
}

export interface Sample {
  /** ms since the ramp started */
  t: number;
  established: number;
  accepted: number;
  /** connections established per second over the last interval */
  rate: number;
  failures: Record<string, number>;
  /** memory free for sockets (MemAvailable less reclaimable slab, or the cgroup's room) */
  memAvailableBytes: number;
  slabBytes: number;
  rssBytes: number;
}

/** The phases of a run, in order. */
export type Phase = 'startup' | 'ramp' | 'hold' | 'verify' | 'teardown';

export interface Progress extends Sample {
  phase: Phase;
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
  /** how each connection got its source address and port (--port-strategy; absent: kernel) */
  portStrategy?: PortStrategy;
  /** peak concurrent established connections (client ends) */
  established: number;
  /** server ends accepted (0 with --target: the listener is not ours) */
  accepted: number;
  alive: number;
  /** lost after the ramp, each on evidence (FIN, RST, an error, a wrong or missing reply) */
  dead: number;
  /** not checked before the verify's timeout: neither alive nor dead */
  unverified: number;
  failures: Record<string, number>;
  /**
   * what the server did, by kind: counts, the first bytes it sent before closing, and when
   * (ms since the ramp started)
   */
  failuresByKind: FailureKinds;
  probes: {
    /** the probe's name: echo, none, redis, http, or send:...,expect:... */
    probe: string;
    kind: Probe['kind'];
    /** --probe-interval (0: probed only at verify) */
    intervalMs: number;
    verifyTimeoutMs: number;
    rounds: ProbeRound[];
  };
  stoppedBy: StoppedBy;
  timing: {
    startupMs: number;
    rampMs: number;
    timeToPeakMs: number;
    holdMs: number;
    verifyMs: number;
    teardownMs: number;
  };
  rate: { medianPerSec: number; peakPerSec: number; meanPerSec: number };
  /**
   * the ramp's rate from 80% to 90% of the peak against its rate from 10% to 20% (absent in
   * results saved before it was measured)
   */
  flatCost?: FlatCost;
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
    /** the lowest memory free for sockets seen: what the guard compared with the floor */
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
  crashes: Crash[];
  series: Sample[];
}

/**
 * The shapes of `max`: its options, why a run stopped, the progress samples and the result.
 * Re-exported by coordinator.ts, where the library's users import them.
 */
import type { CpuTimes, Sockstat } from '../limits/procfs.js';
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
  /**
   * TLS over every connection (`max --tls`): servers and clients in separate processes, each
   * side's CPU and memory measured; a short plain-TCP baseline first unless `baseline: false`
   */
  tls?: MaxTlsOptions;
}

export interface MaxTlsOptions {
  /** '1.3' (default) or '1.2'; older versions are refused */
  version?: '1.3' | '1.2';
  /** a throwaway certificate made with the system openssl, or a PEM file with cert and key */
  cert?: 'ecdsa' | 'rsa2048' | { file: string };
  /** session tickets: the first handshake of each client process full, the rest resumed */
  resume?: boolean;
  /** the plain-TCP baseline's connections (0: none; default min(connections, 2000)) */
  baseline?: number;
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
  /**
   * the machine's CPU time since the ramp started, in ms summed over every CPU (/proc/stat): read
   * against the counts, it is what each connection cost in CPU along the ramp (flatCost.cpu)
   */
  cpu?: CpuTimes;
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
    /**
     * of kernelBytesPerConnection, the /proc inodes and dentries a program listing every
     * process's descriptors made for this run's (absent without /proc/slabinfo, and in results
     * saved before it was measured)
     */
    observerBytesPerConnection?: number;
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
    /**
     * free page reporting's order when the kernel hands freed memory back to its hypervisor
     * (virtio-balloon): memory the kernel takes again then costs a page fault on the host
     */
    pageReportingOrder?: number;
  };
  crashes: Crash[];
  series: Sample[];
  /** with --tls: the handshake and memory costs per side, the baseline and the walls */
  tls?: TlsResult;
}

/** One side's cost (the TLS servers' processes, or the clients'), over the ramp. */
export interface TlsSideCost {
  processes: number;
  /** handshakes (or plain connects) completed per second on this side, median of the seconds */
  handshakesPerSec: number;
  /** CPU time of this side's processes over the ramp (their threads' schedstat, to the us) */
  cpuMs: number;
  cpuUsPerHandshake: number;
  /** (PSS at the peak - PSS before the ramp) / connections, summed over this side's processes */
  pssBytesPerConnection: number;
  rssBytesPerConnection: number;
}

/** One measured run of `max --tls` (TLS) or its baseline (plain TCP, the same workers). */
export interface TlsRunFigures {
  protocol: 'tls' | 'tcp';
  requested: number;
  established: number;
  alive: number;
  dead: number;
  unverified: number;
  /** handshakes that resumed a session, and their share of the established */
  resumed: number;
  resumedShare: number;
  rampMs: number;
  /** connect() to handshake done on the client (TCP: connect done), ms */
  latencyMs: { median: number; p99: number };
  /** Slab delta at the peak / connections: both ends' kernel memory */
  kernelBytesPerConnection: number;
  /**
   * the machine's TCP sockets (sockstat inuse) grew by this run's own over the ramp, within 10%:
   * false when other programs opened or closed sockets meanwhile, and the Slab delta is not ours
   */
  kernelTrusted: boolean;
  server: TlsSideCost;
  client: TlsSideCost;
  failures: Record<string, number>;
}

/** What a wall is at one side's cost: connections per second on every core, time to open N. */
export interface TlsWall {
  /** cores x 1e6 / us per handshake */
  handshakesPerSec: number;
  /** the requested connections at that rate */
  secondsToOpen: number;
}

/**
 * The public-key operations alone on this CPU (in-process, node:crypto), microseconds: the floor
 * under a full handshake, and how many times it the measured handshakes cost.
 */
export interface TlsCryptoFloor {
  signUs: number;
  verifyUs: number;
  /** X25519: a key pair and the shared secret */
  keyExchangeUs: number;
  /** a full handshake's server: sign + key exchange */
  serverUs: number;
  /** its client: 2 x verify (certificate, CertificateVerify) + key exchange */
  clientUs: number;
  /** CPU per handshake measured / the floor, per side */
  serverTimes: number;
  clientTimes: number;
}

export interface TlsResult {
  version: 'TLSv1.2' | 'TLSv1.3';
  /** ecdsa, rsa2048 or the file's path, and its key in words (ECDSA P-256, RSA 2048) */
  cert: string;
  key: string;
  resume: boolean;
  negotiated: { protocol: string; cipher: string; group: string };
  /** process.versions.openssl and node of the workers */
  openssl: string;
  node: string;
  /** the client's source ports (chosen by the raw layer) are the ports the servers saw */
  ports: { checked: number; match: boolean };
  /** the crypto floor of a full handshake on this CPU, for this key */
  floor: TlsCryptoFloor;
  run: TlsRunFigures;
  baseline?: TlsRunFigures;
  walls: {
    cores: number;
    cpu: { server: TlsWall; client: TlsWall; baselineServer?: TlsWall; baselineClient?: TlsWall };
    /** connections that fit in MemAvailable above the floor at this run's cost per connection */
    memory: {
      tls: number;
      tcp?: number;
      bytesPerConnection: number;
      /** false: no run's Slab delta was its own (see kernelTrusted), processes' memory only */
      kernelCounted: boolean;
    };
  };
}

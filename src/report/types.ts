/**
 * What the report page reads: one object with optional parts, each rendered only when present.
 *
 * Every part is the result object of one command (`theory`, `demo`, `prove`, `limits`, `max`),
 * either as the library returns it (BigInt fields as bigint) or as its `--json` output reads
 * back (BigInt fields as decimal strings). For the commands whose modules are still being
 * written, the interfaces below are the minimal shapes the page needs, taken from the JSON in
 * their issues; every field the page can do without is optional, so the real result types can
 * be passed as they are.
 */
import type { InternetResult, ModelName, TheoryResult } from '../theory/index.js';

/** A BigInt field: bigint from the library, a decimal string from JSON. */
export type Big = bigint | string;

/** A count that may be a plain number, a bigint, or a decimal string. */
export type Count = number | Big;

/** `T` with every bigint also accepted as a decimal string (the shape `--json` produces). */
export type Wire<T> = T extends bigint
  ? Big
  : T extends readonly (infer U)[]
    ? readonly Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

// ---------------------------------------------------------------------------------------------
// theory (src/theory): the real type, BigInts optionally as strings

/** A `theory` result, or an `internetTheory` one (which adds `family` and `scientific`). */
export type TheoryInput = Wire<TheoryResult> & Partial<Pick<Wire<InternetResult>, 'family'>>;

/**
 * One result, several (shown one after another), or a record of them by name, as the tour
 * prints them: `{ seed, ipv4 }`.
 */
export type TheoryPart =
  | TheoryInput
  | readonly TheoryInput[]
  | Readonly<Record<string, TheoryInput>>;

// ---------------------------------------------------------------------------------------------
// experiments (issue 4, `fourtuple demo --json`)

/** One syscall an experiment made. */
export interface ExperimentStep {
  /** socket, setsockopt, bind, listen, connect, accept, ... */
  op: string;
  from?: string;
  to?: string;
  /** 'ok' or an errno name (EADDRNOTAVAIL) */
  result: string;
  /** the errno's one line of meaning */
  meaning?: string;
}

export interface ExperimentRecord {
  name: string;
  /** a one-line title */
  title?: string;
  /** who listens and who connects where, in words or as a structure */
  topology?: unknown;
  /** the socket options this run used, e.g. { reuseaddr: true, reuseport: false } */
  variant?: Readonly<Record<string, unknown>>;
  options?: Readonly<Record<string, unknown>>;
  /** what fourtuple predicted: a sentence or a structure */
  predicted?: unknown;
  steps?: readonly ExperimentStep[];
  /** connections established */
  established?: Count;
  /** true when the kernel did what was predicted */
  matches?: boolean;
  /** the observation in words */
  observed?: unknown;
  explanation?: string;
}

/** `fourtuple demo --json` prints `{ experiments: [...] }`; a bare list is accepted too. */
export type ExperimentsPart =
  | readonly ExperimentRecord[]
  | { readonly experiments: readonly ExperimentRecord[] };

// ---------------------------------------------------------------------------------------------
// proof (issue 5, `fourtuple prove --json`)

/**
 * One established connection, by its two endpoints as ip:port ([v6]:port); both ends equal for
 * a self-connection. `{ a, b }` is what `fourtuple prove` lists (a connects, b accepts).
 */
export type ProofConnection = { from: string; to: string } | { a: string; b: string };

export interface ProofInput {
  machines: Big;
  ports: Big;
  ipsPerMachine?: Big;
  /** loopback or netns */
  hosts?: string;
  established: Count;
  selfConnections?: Count;
  betweenMachines?: Count;
  /** reverse and duplicate attempts that failed, by errno name */
  attemptsRefused?: Readonly<Record<string, Count>>;
  /** the theory's counts for the same n x m, by model name (src/theory ModelCounts) */
  models?: Readonly<Partial<Record<ModelName, Count>>>;
  /** 'exact' when established = N(N+1)/2 */
  verdict?: string;
  /** every established connection, for the graph; without it the graph is drawn only when the
   * proof established every possible connection */
  connections?: readonly ProofConnection[];
  /** the IP addresses of each machine; without it every distinct IP is one machine */
  machineIps?: readonly (readonly string[])[];
  /** the machines as `fourtuple prove` lists them (name and address), used like machineIps */
  machineList?: readonly { name: string; address: string }[];
}

/** One proof or several (the tour proves 2 x 3 and 3 x 4). */
export type ProofPart = ProofInput | readonly ProofInput[];

// ---------------------------------------------------------------------------------------------
// limits (issue 6, `fourtuple limits --json`; src/limits LimitsResult fits this shape)

export interface LimitEntry {
  /** e.g. nofile.hard, net.ipv4.ip_local_port_range */
  name: string;
  /** the current value, or "unknown: reason" */
  value: unknown;
  /** the number of connections this limit allows; null when it does not bound them */
  ceiling?: Count | null;
  /** process, system or per-destination */
  scope?: string;
  /** false when the limit does not bind this shape (the note says why) */
  applies?: boolean;
  /** the command that would raise it (never run by fourtuple) */
  raise?: string;
  /** how the ceiling follows from the value, or why a value is unknown */
  note?: string;
  source?: string;
}

export interface LimitsInput {
  /** binding first */
  limits: readonly LimitEntry[];
  /** the name of the limit that binds first for one process */
  binding?: string;
  /** connections one process could hold */
  estimate?: Count;
  /** the wall for the machine when connections are spread over processes */
  machine?: { binding?: string; estimate?: Count; processes?: Count };
  /** the one-paragraph answer */
  answer?: string;
  /** the measured cost of one connection (null when not measured) */
  measured?: {
    kernelBytesPerConnection?: number;
    userBytesPerConnection?: number;
    holderBaselineBytes?: number;
    connections?: number;
  } | null;
  /** what the figures were read from; only the machine's size is shown */
  readings?: {
    cores?: number;
    memory?: { value: unknown };
  };
}

// ---------------------------------------------------------------------------------------------
// max (issue 7, `fourtuple max --json`; src/scale MaxResult fits this shape)

/** One sample of the run's time series (about one a second, ramp and hold). */
export interface MaxSample {
  /** ms since the ramp started */
  t: number;
  /** concurrent established connections at t */
  established: number;
  accepted?: number;
  /** connections established per second over the last interval; derived when absent */
  rate?: number;
  /** failed attempts so far (cumulative), by errno name */
  failures?: Readonly<Record<string, number>>;
  /** /proc/meminfo Slab at t, bytes (the kernel's share is the growth from the first sample) */
  slabBytes?: number;
  /** resident memory of all fourtuple processes at t, bytes */
  rssBytes?: number;
  memAvailableBytes?: number;
}

export interface MaxInput {
  /** connections asked for (a number, or 'auto') */
  requested?: Count;
  /** connections the plan aimed for */
  planned?: Count;
  workers?: number;
  /** peak concurrent established (client ends) */
  established: Count;
  accepted?: Count;
  alive?: Count;
  dead?: Count;
  /** failed attempts in the whole run, by errno name */
  failures?: Readonly<Record<string, number>>;
  /** why the ramp stopped */
  stoppedBy?: { reason: string; detail?: string; errno?: string; syscall?: string };
  timing?: { timeToPeakMs?: number; rampMs?: number; holdMs?: number; verifyMs?: number };
  rate?: { medianPerSec?: number; peakPerSec?: number; meanPerSec?: number };
  memory?: {
    kernelBytesPerConnection?: number;
    processRssBytesPerConnection?: number;
    totalBytesPerConnection?: number;
    slabBeforeBytes?: number;
  };
  /** the limits the run met, as the run read them */
  limits?: {
    nofileHard?: number;
    fileMax?: number;
    ephemeralPorts?: number;
    memTotalBytes?: number;
    memAvailableBytes?: number;
    cores?: number;
  };
  series?: readonly MaxSample[];
  /** more ceilings to draw as horizontal lines on the connections chart */
  ceilings?: readonly { name: string; value: Count }[];
}

// ---------------------------------------------------------------------------------------------
// the machine the results came from

export interface MachineInfo {
  kernel?: string;
  cores?: number;
  /** MemTotal, bytes */
  memoryBytes?: number;
  /** MemAvailable when the results were taken, bytes */
  memoryAvailableBytes?: number;
  node?: string;
  fourtuple?: string;
  /** ISO 8601 */
  date?: string;
  platform?: string;
  arch?: string;
  /** true when this describes the machine that rendered the page, not the one that ran */
  renderedHere?: boolean;
}

/** Everything the report can show. Every part is optional; a missing part is not rendered. */
export interface ReportInput {
  theory?: TheoryPart;
  experiments?: ExperimentsPart;
  proof?: ProofPart;
  limits?: LimitsInput;
  max?: MaxInput;
  machine?: MachineInfo;
  /** the page's title (default: fourtuple report) */
  title?: string;
}

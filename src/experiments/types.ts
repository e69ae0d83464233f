/** What the experiments runner takes and returns: options, steps, observations, results. */
import type { Tagged } from '../result.js';
import type { Experiment, Prediction, VariantValue } from './spec.js';

export type HostsMode = 'loopback' | 'netns';

export interface RunExperimentsOptions {
  /** experiment names (default: all, in catalogue order); an unknown name is a UsageError */
  names?: readonly string[];
  /** experiments of your own (same shape as the catalogue's), run instead of `names` */
  experiments?: readonly Experiment[];
  /** first port of the block P..P+3 (default: a free block below 32768 found at run time) */
  basePort?: number;
  /** 'netns': the multi-IP experiments run across separate network namespaces */
  hosts?: HostsMode;
  signal?: AbortSignal;
  /** called after each experiment (the CLI prints as it goes) */
  onExperiment?: (r: ExperimentResult) => void;
}

export type StepOp =
  | 'setsockopt'
  | 'bind'
  | 'listen'
  | 'connect'
  | 'echo'
  | 'accept'
  | 'close'
  | 'observe'
  | 'sysctl';

export interface Step {
  /** the socket: L1, C2, A1 (an accepted connection) */
  socket: string;
  op: StepOp;
  /** the local address (bind, listen, connect) */
  from?: string;
  /** the remote address (connect, echo) */
  to?: string;
  /** options set on the socket, for bind steps: SO_REUSEADDR, SO_REUSEPORT, ... */
  options?: string[];
  /** 'ok', an errno name (EADDRINUSE), or what was observed (TIME_WAIT, WRONG-ECHO) */
  result: string;
  /** the errno's meaning, or what the result says */
  meaning?: string;
  /** what else the kernel told us (getsockname after bind, the echo's text) */
  detail?: string;
}

export interface Observation {
  established: number;
  outcomes: Record<string, string>;
  /** the source port each connector ended up with (after connect) */
  sourcePorts: Record<string, number>;
  samePort?: string[][];
  differentPort?: string[][];
}

export interface ExperimentResult {
  name: string;
  of?: string;
  summary: string;
  hosts: HostsMode;
  family: 4 | 6;
  variant: Record<string, VariantValue>;
  /** who listens where, who binds what and connects where, with real addresses */
  topology: string[];
  predicted: Prediction;
  predictionText: string;
  steps: Step[];
  observed: Observation;
  established: number;
  matches: boolean;
  /** why this experiment did not run here (e.g. it needs root for its namespace); never a failure */
  skipped?: string;
  explanation: string;
  /** every local port the experiment bound (for leak checks) */
  ports: number[];
  /** listener-restart only: the port left in TIME_WAIT (ages out in 60 s) */
  timeWaitPort?: number;
  durationMs: number;
}

export interface DemoSummary {
  experiments: number;
  matched: number;
  /** names of the experiments whose outcome differed from the prediction */
  differed: string[];
  /** names of the experiments that could not run here (see each one's `skipped`) */
  skipped: string[];
  basePort: number;
  hosts: HostsMode;
  /** ports left in TIME_WAIT on purpose by the listener-restart experiments */
  timeWaitPorts: number[];
  /** hosts 'netns': the lab the multi-IP experiments ran in (removed before returning) */
  lab?: { runId: string; machines: { name: string; address: string }[] };
  /**
   * the per-socket-range runs (`-sockopt`) against their namespace-wide twins: how many pairs
   * saw the same outcomes, and which did not (absent when no pair ran)
   */
  rangeAgreement?: { agree: number; of: number; differ: string[] };
  /** the namespace the experiments where ports run out ran in (removed before returning) */
  world?: { runId: string; netns: string };
  durationMs: number;
}

export interface DemoResult extends Tagged<'demo'> {
  experiments: ExperimentResult[];
  summary: DemoSummary;
}

/** The options, progress and result of a proof (see prove.ts). */
import type { HostsKind } from '../hosts/index.js';
import type { Tagged } from '../result.js';
import type { ModelCounts } from '../theory/models.js';

export type ProofHosts = HostsKind;

export interface ProveOptions {
  machines: number;
  /** ports per machine */
  ports: number;
  /** default 'loopback' */
  hosts?: ProofHosts;
  /** first port; default: a free block found at run time below 32768 */
  basePort?: number;
  signal?: AbortSignal;
  /** connects in flight at once (default 256) */
  concurrency?: number;
  /** how long one connect, and the final accepts, may take (default 5000 ms) */
  timeoutMs?: number;
  /** list every connection in the result (default: when N <= 64) */
  listConnections?: boolean;
  onProgress?: (p: ProveProgress) => void;
}

export type ProvePhase =
  | 'hosts'
  | 'listen'
  | 'connect'
  | 'accept'
  | 'verify'
  | 'attempts'
  | 'close';

export interface ProveProgress {
  phase: ProvePhase;
  done: number;
  total: number;
}

/** One kind of extra attempt (reverse or duplicate): how many, and how each ended. */
export interface AttemptStats {
  tried: number;
  /** errno name -> count */
  refused: Record<string, number>;
  succeeded: number;
}

export interface ProofConnection {
  /** the connecting side's ip:port (for a self-connection, both ends) */
  a: string;
  /** the accepting side's ip:port */
  b: string;
}

export interface ProofMachine {
  name: string;
  address: string;
  netns?: string;
}

export interface ProveTimings {
  hostsMs: number;
  listenMs: number;
  connectMs: number;
  acceptMs: number;
  verifyMs: number;
  attemptsMs: number;
  closeMs: number;
  totalMs: number;
}

/**
 * exact: every connection built, not one more; mismatch: the count or the 4-tuples differ;
 * error: something failed that the proof cannot count as a refusal (see verify.ts)
 */
export type Verdict = 'exact' | 'mismatch' | 'error';

export interface ProveResult extends Tagged<'prove'> {
  machines: bigint;
  ports: bigint;
  hosts: ProofHosts;
  /** the lab's run id (netns names are ft-<runId>-...) */
  runId: string;
  basePort: number;
  machineList: ProofMachine[];
  /** N = n m */
  endpoints: bigint;
  /** connections seen on both sides: connected and (between distinct endpoints) accepted */
  established: bigint;
  /** connecting sockets whose connect completed (self-connections included) */
  connected: bigint;
  /** sockets accept() returned, each the far end of one connection */
  accepted: bigint;
  selfConnections: bigint;
  /** established connections whose two ends are on different machines */
  betweenMachines: bigint;
  /** every connection's 4-tuple is distinct, and every accepted socket mirrors exactly one */
  distinctTuples: boolean;
  /** connects in step 2 that failed, by errno (none expected) */
  connectFailures: Record<string, number>;
  attempts: { reverse: AttemptStats; duplicate: AttemptStats };
  /** every extra attempt's failure, by errno */
  attemptsRefused: Record<string, number>;
  attemptsSucceeded: number;
  models: ModelCounts;
  verdict: Verdict;
  /** what differs from the exact model, one line each (empty when the verdict is exact) */
  differences: string[];
  descriptors: { needed: number; limit: number };
  timings: ProveTimings;
  /** every connection, when listed (see ProveOptions.listConnections) */
  connections?: ProofConnection[];
}

/**
 * The proof by construction: n machines x m ports, every connection that can exist at once,
 * built on a real network stack, counted on both sides, then one more of every kind tried and
 * refused.
 *
 * 1. Every endpoint (machine k's address, port base+j) listens, with SO_REUSEADDR and
 *    SO_REUSEPORT so the same ip:port can also be the source of outgoing connections.
 * 2. For every unordered pair of distinct endpoints i < j, a socket bound to i's ip:port (both
 *    options set) connects to j; j's listener accepts it. Every endpoint also connects to
 *    itself (bind ip:p, connect ip:p: TCP simultaneous open, one socket holding both ends).
 *    Connects run concurrently in a bounded pool; a connect is awaited on epoll.
 * 3. Every listener is drained with accept() until EAGAIN, waiting on epoll for the rest.
 * 4. getsockname/getpeername on every socket: each connection's 4-tuple is distinct, each
 *    accepted socket is the far end of exactly one connecting socket.
 * 5. One more of every kind: each connection in the reverse direction (j's ip:port to i's) and
 *    a duplicate of each (i to j again). The kernel refuses every one (EADDRNOTAVAIL: the
 *    4-tuple is taken).
 * 6. Everything is closed with an RST (SO_LINGER 0: no TIME_WAIT left behind) and a netns lab
 *    is torn down, on success, failure and abort alike.
 *
 * Machines come from src/hosts: loopback addresses 127.0.0.(k+1) on this kernel, or network
 * namespaces (each with its own TCP stack) joined by a bridge; netns sockets are created inside
 * the machine's namespace with withNetns (setns on the main thread), and all of them are
 * served by the one epoll in this process. A netns lab gets static neighbours first (see
 * neighbours.ts: the kernel's one ARP table would overflow past 32 machines).
 */

import { FourtupleError, InvalidOptionError } from '../errors.js';
import type { Lab } from '../hosts/index.js';
import { createLab, LOWEST_UNPRIVILEGED_PORT } from '../hosts/index.js';
import type { PortLock } from '../hosts/ports.js';
import { tag } from '../result.js';
import { countModels } from '../theory/models.js';
import { type BudgetCheck, checkBudget } from './budget.js';
import { acceptAll, type Connected, connectEveryPair } from './construct.js';
import { addStaticNeighbours } from './neighbours.js';
import {
  claimBasePort,
  closeAll,
  type Endpoint,
  type Held,
  listenAll,
  planEndpoints,
} from './pool.js';
import type { ProofHosts, ProveOptions, ProvePhase, ProveResult, ProveTimings } from './types.js';
import {
  ATTEMPTS_IN_FLIGHT,
  type Attempts,
  checkTuples,
  differences,
  type TupleCheck,
  tryOneMore,
  verdictOf,
} from './verify.js';

export type * from './types.js';

/** the largest N whose connections are listed by default (2080 connections) */
export const LIST_CONNECTIONS_UP_TO = 64;

/** The highest TCP port. */
const MAX_PORT = 65535;

/**
 * Bounds the options can take (the CLI states them). The base port starts at 1024, as the
 * demo's does (see LOWEST_UNPRIVILEGED_PORT); the block basePort..basePort+ports-1 must also
 * end by 65535.
 */
export const PROVE_LIMITS = {
  machines: { loopback: { min: 1, max: 254 }, netns: { min: 1, max: 64 } },
  ports: { min: 1, max: 1024 },
  basePort: { min: LOWEST_UNPRIVILEGED_PORT, max: MAX_PORT },
} as const;

/** The descriptor check `prove` makes before anything is opened. */
export function proveBudget(machines: number, ports: number): BudgetCheck {
  return checkBudget(machines * ports, ATTEMPTS_IN_FLIGHT);
}

/** Throws InvalidOptionError, naming the option's field, when a size is out of range. */
function validate(o: ProveOptions, kind: ProofHosts): void {
  const int = (name: string, v: number, min: number, max: number, why = ''): void => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new InvalidOptionError(name, `an integer from ${min} to ${max}${why}`, String(v));
    }
  };
  const ml = PROVE_LIMITS.machines[kind];
  int('machines', o.machines, ml.min, ml.max);
  int('ports', o.ports, PROVE_LIMITS.ports.min, PROVE_LIMITS.ports.max);
  if (o.basePort !== undefined) {
    const last = PROVE_LIMITS.basePort.max - o.ports + 1;
    int(
      'basePort',
      o.basePort,
      PROVE_LIMITS.basePort.min,
      last,
      ` so that basePort + ports - 1 is at most ${MAX_PORT}`,
    );
  }
}

/** What the phases found, for the result. */
interface Findings extends Connected {
  accepted: number;
  tuples: TupleCheck;
  extra: Attempts;
}

/** The result object: the counts, the models, the verdict and its differences. */
function resultOf(
  options: ProveOptions,
  lab: Lab,
  eps: readonly Endpoint[],
  held: Held,
  found: Findings,
  budget: BudgetCheck,
  timings: ProveTimings,
): ProveResult {
  const { machines, ports } = options;
  const N = eps.length;
  const { tuples, extra } = found;
  const models = countModels({
    machines: BigInt(machines),
    ports: BigInt(ports),
    ipsPerMachine: 1n,
  });
  const diffs = differences(models, N, found);
  const result: ProveResult = {
    ...tag('prove'),
    machines: BigInt(machines),
    ports: BigInt(ports),
    hosts: options.hosts ?? 'loopback',
    runId: lab.runId,
    basePort: eps[0]!.port,
    machineList: lab.machines.map((m) => ({
      name: m.name,
      address: m.address,
      ...(m.netns ? { netns: m.netns } : {}),
    })),
    endpoints: BigInt(N),
    established: BigInt(tuples.established),
    connected: BigInt(found.connected),
    accepted: BigInt(found.accepted),
    selfConnections: BigInt(tuples.selfConnections),
    betweenMachines: BigInt(tuples.betweenMachines),
    distinctTuples: tuples.distinct,
    connectFailures: found.connectFailures,
    ...extra,
    models,
    verdict: verdictOf(diffs, extra),
    differences: diffs,
    descriptors: { needed: budget.need.total, limit: budget.limit.soft },
    timings,
  };
  if (options.listConnections ?? N <= LIST_CONNECTIONS_UP_TO) {
    result.connections = held.conns
      .filter((c) => c.socket)
      .map((c) => ({ a: eps[c.from]!.label, b: eps[c.to]!.label }));
  }
  return result;
}

/** Milliseconds since the previous call (the first: since the stopwatch was made). */
function stopwatch(): () => number {
  let mark = performance.now();
  return () => {
    const now = performance.now();
    const ms = Math.round(now - mark);
    mark = now;
    return ms;
  };
}

/**
 * Builds every possible connection among `machines` x `ports` endpoints, counts them, and
 * shows that one more of any kind is refused. Throws InvalidOptionError on bad sizes and a
 * FourtupleError (FOURTUPLE_FD_LIMIT) when the descriptors would not fit this process.
 */
export async function prove(options: ProveOptions): Promise<ProveResult> {
  const t0 = performance.now();
  const kind = options.hosts ?? 'loopback';
  validate(options, kind);
  const { machines, ports, signal } = options;
  const N = machines * ports;
  const budget = proveBudget(machines, ports);
  if (!budget.ok) throw new FourtupleError('FOURTUPLE_FD_LIMIT', budget.reason!);
  signal?.throwIfAborted();
  const progress = (phase: ProvePhase, done: number, total: number): void =>
    options.onProgress?.({ phase, done, total });
  const timings: ProveTimings = {
    hostsMs: 0,
    listenMs: 0,
    connectMs: 0,
    acceptMs: 0,
    verifyMs: 0,
    attemptsMs: 0,
    closeMs: 0,
    totalMs: 0,
  };
  const lap = stopwatch();

  progress('hosts', 0, machines);
  const lab = await createLab({ kind, machines, ...(signal ? { signal } : {}) });
  const held: Held = { listeners: [], accepted: [], conns: [], strays: [] };
  let lock: PortLock | undefined;
  try {
    if (kind === 'netns' && machines > 1) await addStaticNeighbours(lab.machines);
    timings.hostsMs = lap();
    progress('hosts', machines, machines);
    const claimed = await claimBasePort(lab, ports, options.basePort);
    lock = claimed.lock;
    const basePort = claimed.basePort;
    const eps = planEndpoints(lab, ports, basePort);
    const ctx = {
      eps,
      timeoutMs: options.timeoutMs ?? 5000,
      concurrency: options.concurrency ?? 256,
      ...(signal ? { signal } : {}),
      progress,
    };

    progress('listen', 0, N);
    listenAll(eps, held);
    timings.listenMs = lap();
    const { connectFailures, connected } = await connectEveryPair(ctx, held);
    timings.connectMs = lap();
    const accepted = await acceptAll(ctx, held);
    timings.acceptMs = lap();
    progress('verify', 0, 1);
    const tuples = checkTuples(eps, held);
    timings.verifyMs = lap();
    progress('verify', 1, 1);
    const extra = await tryOneMore(ctx, held);
    timings.attemptsMs = lap();

    return resultOf(
      options,
      lab,
      eps,
      held,
      { connected, accepted, connectFailures, tuples, extra },
      budget,
      timings,
    );
  } finally {
    // 6. RST everything, then the lab
    progress('close', 0, 1);
    closeAll(held);
    await lock?.release();
    await lab.destroy();
    timings.closeMs = lap();
    timings.totalMs = Math.round(performance.now() - t0);
    progress('close', 1, 1);
  }
}

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

import { FourtupleError, SyscallError } from '../errors.js';
import { createLab, type HostsKind, type Lab } from '../hosts/index.js';
import { type Tagged, tag } from '../result.js';
import { errnoMeaning, errnoName } from '../sockets/errno.js';
import { withNetns } from '../sockets/netns.js';
import { constants } from '../sockets/platform.js';
import { waitReady } from '../sockets/poller.js';
import { formatSockAddr } from '../sockets/sockaddr.js';
import { RawSocket } from '../sockets/socket.js';
import { countModels, type ModelCounts } from '../theory/models.js';
import { type BudgetCheck, checkBudget } from './budget.js';
import { addStaticNeighbours } from './neighbours.js';
import { blockIsFree, findFreeBase } from './ports.js';

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

export type Verdict = 'exact' | 'mismatch';

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

interface Endpoint {
  index: number;
  machine: number;
  address: string;
  port: number;
  netnsPath?: string;
  label: string;
}

interface Conn {
  from: number;
  to: number;
  socket?: RawSocket;
  error?: string;
}

const SOCKET_OPTIONS = { reuseaddr: true, reuseport: true } as const;
const LISTEN_BACKLOG = 4096;
/** extra attempts in flight at once (each holds one descriptor until it fails) */
const ATTEMPTS_IN_FLIGHT = 64;
/** the largest N whose connections are listed by default (2080 connections) */
export const LIST_CONNECTIONS_UP_TO = 64;

/** Bounds the options can take (the CLI states them). */
export const PROVE_LIMITS = {
  machines: { loopback: { min: 1, max: 254 }, netns: { min: 1, max: 64 } },
  ports: { min: 1, max: 1024 },
  basePort: { min: 1024, max: 65535 },
} as const;

/** The errno name of a failed connect; an abort is rethrown (the run stops and cleans up). */
function errName(err: unknown, signal?: AbortSignal): string {
  if (signal?.aborted) throw err;
  if (err instanceof SyscallError) return err.code;
  return err instanceof Error ? err.name : 'unknown';
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** How long `pool` may run on promises alone before it lets the event loop turn. */
const YIELD_EVERY_MS = 20;

/** Runs `fn` over 0..count-1 with at most `limit` in flight; stops early on abort. */
async function pool(
  count: number,
  limit: number,
  fn: (i: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failed: { err: unknown } | undefined;
  // On loopback a connect (or a refused attempt) usually completes inside connect(2), so `fn`
  // resolves without waiting on epoll and the whole pool runs on microtasks: the event loop
  // never turns, a SIGINT/SIGTERM handler never runs, and the run ignores the signal to its
  // end (then exits 0). Every YIELD_EVERY_MS all workers wait for one shared setImmediate,
  // which lets the loop turn: the abort fires and throwIfAborted below stops the pool.
  let gate: Promise<void> | undefined;
  let lastTurn = performance.now();
  const breathe = (): Promise<void> | undefined => {
    if (gate || performance.now() - lastTurn < YIELD_EVERY_MS) return gate;
    gate = new Promise<void>((resolve) =>
      setImmediate(() => {
        gate = undefined;
        lastTurn = performance.now();
        resolve();
      }),
    );
    return gate;
  };
  const worker = async (): Promise<void> => {
    while (next < count && !failed) {
      const turn = breathe();
      if (turn) await turn;
      if (next >= count || failed) break;
      const i = next++;
      try {
        signal?.throwIfAborted();
        await fn(i);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  if (failed) throw failed.err;
}

/**
 * socket() inside the endpoint's namespace, SO_REUSEADDR + SO_REUSEPORT, bind(from), connect(to),
 * awaited. Resolves with the connected socket; rejects with the SyscallError and closes it.
 */
async function connectFrom(
  from: Endpoint,
  to: Endpoint,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RawSocket> {
  let started = false;
  const socket = withNetns(from.netnsPath, () => {
    const s = RawSocket.create(4, SOCKET_OPTIONS);
    try {
      s.bind(from.address, from.port);
      started = s.connectStart(to.address, to.port);
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  });
  try {
    if (!started) {
      // On one kernel the handshake often completes inside connect(): getpeername answers
      // ENOTCONN only while the socket is still in SYN_SENT.
      let done = false;
      try {
        socket.remoteAddress();
        done = true;
      } catch {
        done = false;
      }
      if (!done) {
        await waitReady(socket.fd, constants().EPOLLOUT, timeoutMs, signal);
        const err = socket.pendingError();
        if (err !== 0) {
          throw new SyscallError(
            'connect',
            errnoName(err),
            err,
            errnoMeaning(err),
            to.address,
            to.port,
          );
        }
        socket.remoteAddress(); // ENOTCONN if it did not connect after all
      }
    }
    return socket;
  } catch (err) {
    socket.closeReset();
    throw err;
  }
}

/** Every machine's endpoints, in order: machine 0's ports, then machine 1's, ... */
function planEndpoints(lab: Lab, ports: number, basePort: number): Endpoint[] {
  const out: Endpoint[] = [];
  for (const m of lab.machines) {
    for (let j = 0; j < ports; j++) {
      const ep: Endpoint = {
        index: out.length,
        machine: m.index,
        address: m.address,
        port: basePort + j,
        label: `${m.address}:${basePort + j}`,
      };
      if (m.netnsPath) ep.netnsPath = m.netnsPath;
      out.push(ep);
    }
  }
  return out;
}

/** The descriptor check `prove` makes before anything is opened. */
export function proveBudget(machines: number, ports: number): BudgetCheck {
  return checkBudget(machines * ports, ATTEMPTS_IN_FLIGHT);
}

function validate(o: ProveOptions, kind: ProofHosts): void {
  const int = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`${name} must be an integer from ${min} to ${max} (got ${v})`);
    }
  };
  const ml = PROVE_LIMITS.machines[kind];
  int('machines', o.machines, ml.min, ml.max);
  int('ports', o.ports, PROVE_LIMITS.ports.min, PROVE_LIMITS.ports.max);
  if (o.basePort !== undefined) {
    int('basePort', o.basePort, PROVE_LIMITS.basePort.min, PROVE_LIMITS.basePort.max);
    if (o.basePort + o.ports - 1 > 65535) {
      throw new RangeError(
        `basePort + ports - 1 must be at most 65535 (got ${o.basePort + o.ports - 1})`,
      );
    }
  }
}

/**
 * Builds every possible connection among `machines` x `ports` endpoints, counts them, and
 * shows that one more of any kind is refused. Throws RangeError on bad sizes and a
 * FourtupleError (FOURTUPLE_FD_LIMIT) when the descriptors would not fit this process.
 */
export async function prove(options: ProveOptions): Promise<ProveResult> {
  const t0 = performance.now();
  const kind = options.hosts ?? 'loopback';
  validate(options, kind);
  const { machines, ports, signal } = options;
  const N = machines * ports;
  const timeoutMs = options.timeoutMs ?? 5000;
  const concurrency = options.concurrency ?? 256;
  const listConnections = options.listConnections ?? N <= LIST_CONNECTIONS_UP_TO;
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
  let mark = performance.now();
  const lap = (): number => {
    const now = performance.now();
    const ms = Math.round(now - mark);
    mark = now;
    return ms;
  };

  progress('hosts', 0, machines);
  const lab = await createLab({ kind, machines, ...(signal ? { signal } : {}) });
  const listeners: RawSocket[] = [];
  const conns: Conn[] = [];
  const accepted: RawSocket[][] = [];
  const strays: RawSocket[] = [];
  try {
    if (kind === 'netns' && machines > 1) await addStaticNeighbours(lab.machines);
    timings.hostsMs = lap();
    progress('hosts', machines, machines);
    const hostList = lab.machines.map((m) => ({
      address: m.address,
      ...(m.netnsPath ? { netnsPath: m.netnsPath } : {}),
    }));
    let basePort = options.basePort;
    if (basePort !== undefined) {
      if (!blockIsFree(hostList, basePort, ports)) {
        throw new FourtupleError(
          'FOURTUPLE_PORTS_BUSY',
          `ports ${basePort}-${basePort + ports - 1} are not all free on ${hostList.map((h) => h.address).join(', ')} (something holds one of them, maybe in TIME_WAIT); choose another --base-port or leave it out`,
        );
      }
    } else basePort = findFreeBase(hostList, ports);
    const eps = planEndpoints(lab, ports, basePort);

    // 1. listeners
    progress('listen', 0, N);
    for (const ep of eps) {
      const s = withNetns(ep.netnsPath, () => RawSocket.create(4, SOCKET_OPTIONS));
      listeners.push(s);
      accepted.push([]);
      s.bind(ep.address, ep.port);
      s.listen(LISTEN_BACKLOG);
    }
    timings.listenMs = lap();

    // 2. every unordered pair i <= j: i connects to j (i == j: the self-connection)
    for (let i = 0; i < N; i++) for (let j = i; j < N; j++) conns.push({ from: i, to: j });
    const connectFailures: Record<string, number> = {};
    let connectedCount = 0;
    let connectDone = 0;
    const connectAll = (order: readonly number[], limit: number): Promise<void> =>
      pool(
        order.length,
        limit,
        async (i) => {
          const c = conns[order[i]!]!;
          try {
            c.socket = await connectFrom(eps[c.from]!, eps[c.to]!, timeoutMs, signal);
            connectedCount++;
          } catch (err) {
            c.error = errName(err, signal);
            bump(connectFailures, c.error);
          }
          if ((++connectDone & 1023) === 0) progress('connect', connectDone, conns.length);
        },
        signal,
      );
    progress('connect', 0, conns.length);
    await connectAll(
      conns.map((_, k) => k),
      concurrency,
    );
    progress('connect', conns.length, conns.length);
    timings.connectMs = lap();

    // 3. drain every listener: accept until EAGAIN, waiting on epoll for connections expected
    const expected = new Array<number>(N).fill(0);
    for (const c of conns) if (c.socket && c.from !== c.to) expected[c.to]!++;
    const deadline = performance.now() + timeoutMs;
    progress('accept', 0, N);
    await pool(
      N,
      concurrency,
      async (i) => {
        const l = listeners[i]!;
        const got = accepted[i]!;
        for (;;) {
          for (let s = l.accept(); s; s = l.accept()) got.push(s);
          const left = deadline - performance.now();
          if (got.length >= expected[i]! || left <= 0) break;
          try {
            await l.waitAcceptable(left, signal);
          } catch (err) {
            if (signal?.aborted) throw err;
          }
        }
      },
      signal,
    );
    const acceptedCount = accepted.reduce((a, xs) => a + xs.length, 0);
    timings.acceptMs = lap();

    // 4. 4-tuples: distinct, as intended, and each accepted socket mirrors one connection
    progress('verify', 0, 1);
    const differences: string[] = [];
    const tupleOf = new Map<string, number>(); // "local>remote" of connecting sockets -> conn
    let distinct = true;
    let selfCount = 0;
    let between = 0;
    for (let k = 0; k < conns.length; k++) {
      const c = conns[k]!;
      if (!c.socket) continue;
      const local = formatSockAddr(c.socket.localAddress());
      const remote = formatSockAddr(c.socket.remoteAddress());
      if (local !== eps[c.from]!.label || remote !== eps[c.to]!.label) {
        distinct = false;
        differences.push(
          `connection ${eps[c.from]!.label} -> ${eps[c.to]!.label} came out as ${local} -> ${remote}`,
        );
      }
      const key = `${local}>${remote}`;
      if (tupleOf.has(key)) distinct = false;
      tupleOf.set(key, k);
    }
    const mirrored = new Set<number>();
    for (const xs of accepted) {
      for (const s of xs) {
        const key = `${formatSockAddr(s.remoteAddress())}>${formatSockAddr(s.localAddress())}`;
        const k = tupleOf.get(key);
        if (k === undefined || mirrored.has(k) || conns[k]!.from === conns[k]!.to) distinct = false;
        else mirrored.add(k);
      }
    }
    for (let k = 0; k < conns.length; k++) {
      const c = conns[k]!;
      if (!c.socket) continue;
      if (c.from === c.to) selfCount++;
      else if (mirrored.has(k) && eps[c.from]!.machine !== eps[c.to]!.machine) between++;
    }
    const establishedCount = selfCount + mirrored.size;
    timings.verifyMs = lap();
    progress('verify', 1, 1);

    // 5. one more of every kind: each connection reversed (pairs only: a self-connection's
    // reverse is itself) and each duplicated
    const attempts = {
      reverse: { tried: 0, refused: {}, succeeded: 0 } as AttemptStats,
      duplicate: { tried: 0, refused: {}, succeeded: 0 } as AttemptStats,
    };
    const tries: { from: number; to: number; stats: AttemptStats }[] = [];
    for (const c of conns) {
      if (!c.socket) continue;
      if (c.from !== c.to) tries.push({ from: c.to, to: c.from, stats: attempts.reverse });
      tries.push({ from: c.from, to: c.to, stats: attempts.duplicate });
    }
    progress('attempts', 0, tries.length);
    await pool(
      tries.length,
      ATTEMPTS_IN_FLIGHT,
      async (k) => {
        const t = tries[k]!;
        t.stats.tried++;
        try {
          const s = await connectFrom(eps[t.from]!, eps[t.to]!, timeoutMs, signal);
          t.stats.succeeded++;
          strays.push(s);
        } catch (err) {
          bump(t.stats.refused, errName(err, signal));
        }
        if ((k & 1023) === 0) progress('attempts', k, tries.length);
      },
      signal,
    );
    progress('attempts', tries.length, tries.length);
    // an attempt that got through would sit in a listener's queue: take it, to close it
    for (const l of listeners) for (let s = l.accept(); s; s = l.accept()) strays.push(s);
    const attemptsRefused: Record<string, number> = {};
    for (const st of [attempts.reverse, attempts.duplicate]) {
      for (const [e, n] of Object.entries(st.refused))
        attemptsRefused[e] = (attemptsRefused[e] ?? 0) + n;
    }
    const attemptsSucceeded = attempts.reverse.succeeded + attempts.duplicate.succeeded;
    timings.attemptsMs = lap();

    // the verdict
    const models = countModels({
      machines: BigInt(machines),
      ports: BigInt(ports),
      ipsPerMachine: 1n,
    });
    const est = BigInt(establishedCount);
    if (est !== models.exact) {
      differences.push(
        `established ${est} connections, the exact model says ${models.exact} (N(N+1)/2 for N = ${N})`,
      );
    }
    if (Object.keys(connectFailures).length > 0) {
      differences.push(
        `connects that failed: ${Object.entries(connectFailures)
          .map(([e, n]) => `${e} x${n}`)
          .join(', ')}`,
      );
    }
    if (connectedCount !== establishedCount) {
      differences.push(
        `${connectedCount - establishedCount} connected socket(s) never showed up at a listener's accept()`,
      );
    }
    if (acceptedCount !== mirrored.size) {
      differences.push(`${acceptedCount - mirrored.size} accepted socket(s) match no connection`);
    }
    if (!distinct) differences.push('some 4-tuples are repeated or not the intended endpoints');
    if (attemptsSucceeded > 0) {
      differences.push(
        `${attemptsSucceeded} extra attempt(s) succeeded (reverse ${attempts.reverse.succeeded}, duplicate ${attempts.duplicate.succeeded})`,
      );
    }
    const result: ProveResult = {
      ...tag('prove'),
      machines: BigInt(machines),
      ports: BigInt(ports),
      hosts: kind,
      runId: lab.runId,
      basePort,
      machineList: lab.machines.map((m) => ({
        name: m.name,
        address: m.address,
        ...(m.netns ? { netns: m.netns } : {}),
      })),
      endpoints: BigInt(N),
      established: est,
      connected: BigInt(connectedCount),
      accepted: BigInt(acceptedCount),
      selfConnections: BigInt(selfCount),
      betweenMachines: BigInt(between),
      distinctTuples: distinct,
      connectFailures,
      attempts,
      attemptsRefused,
      attemptsSucceeded,
      models,
      verdict: differences.length === 0 ? 'exact' : 'mismatch',
      differences,
      descriptors: { needed: budget.need.total, limit: budget.limit.soft },
      timings,
    };
    if (listConnections) {
      result.connections = conns
        .filter((c) => c.socket)
        .map((c) => ({ a: eps[c.from]!.label, b: eps[c.to]!.label }));
    }
    return result;
  } finally {
    // 6. RST everything, then the lab
    progress('close', 0, 1);
    for (const s of strays) s.closeReset();
    for (const c of conns) c.socket?.closeReset();
    for (const xs of accepted) for (const s of xs) s.closeReset();
    for (const l of listeners) l.close();
    await lab.destroy();
    timings.closeMs = lap();
    timings.totalMs = Math.round(performance.now() - t0);
    progress('close', 1, 1);
  }
}

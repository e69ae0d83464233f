/**
 * `max --tls`: the coordinator. TLS servers and TLS clients run in separate worker processes
 * (tls-worker.ts), so each side's CPU (its threads' time on a CPU from
 * /proc/PID/task/TID/schedstat, over the ramp) and memory (PSS growth from the ramp's start to
 * its peak) are its own. A short plain-TCP baseline runs first with the same workers, so the
 * cost of TLS is read against TCP measured in the same run on the same busy machine. Library function: returns data, never prints.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FourtupleError } from '../errors.js';
import type { Sockstat } from '../limits/procfs.js';
import { cpuWall } from '../limits/tls.js';
import { tag } from '../result.js';
import { readMem, readProcCpuMs, readProcSize, readSockstatNow } from './_proc.js';
import type { Destination } from './engine.js';
import { childExited, INTERRUPTED_EXIT_MS, settleSockstat } from './phases.js';
import {
  checkMaxTargets,
  defaultDurationMs,
  defaultMemoryFloor,
  machineLimits,
  readMachine,
} from './plan.js';
import { type CertPair, makeThrowawayCert, readCertFile } from './tls-certs.js';
import { measureCryptoFloor } from './tls-floor.js';
import {
  emptyTlsStats,
  type FromTlsWorker,
  type TlsSetup,
  type TlsStats,
  type ToTlsWorker,
} from './tls-messages.js';
import type {
  MaxOptions,
  MaxResult,
  Progress,
  TlsResult,
  TlsRunFigures,
  TlsSideCost,
  TlsWall,
} from './types.js';

/** What an interrupted TLS run may spend after the signal before its result is printed. */
const INTERRUPTED_BUDGET_MS = 3500;

/** connections per worker process: well under the 20,000 descriptors a process may hold */
const PER_PROCESS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Answer<T extends FromTlsWorker['type']> = Extract<FromTlsWorker, { type: T }>;

/** A worker process of one side, and the answers it gave. */
class Side {
  readonly child: ChildProcess;
  stats: TlsStats = emptyTlsStats();
  port = 0;
  exited = false;
  error: string | undefined;
  private readonly waiters = new Map<string, (m: FromTlsWorker | undefined) => void>();

  constructor(entry: string) {
    this.child = fork(entry, [], {
      // --expose-gc: memory per held connection is read after a full collection on both sides
      execArgv: ['--max-semi-space-size=1', '--expose-gc'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
    });
    this.child.on('error', () => {});
    this.child.on('message', (m: FromTlsWorker) => {
      if (m.type === 'progress' || m.type === 'ramped' || m.type === 'verified')
        this.stats = m.stats;
      if (m.type === 'error') {
        this.error = m.message;
        for (const w of this.waiters.values()) w(undefined);
        this.waiters.clear();
        return;
      }
      const w = this.waiters.get(m.type);
      this.waiters.delete(m.type);
      w?.(m);
    });
    this.child.on('exit', () => {
      this.exited = true;
      for (const w of this.waiters.values()) w(undefined);
      this.waiters.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  post(m: ToTlsWorker): void {
    if (this.child.connected) this.child.send(m, () => {});
  }

  /** The next answer of this type; undefined if the worker exits, fails or the time passes. */
  ask<T extends FromTlsWorker['type']>(
    m: ToTlsWorker,
    type: T,
    timeoutMs: number,
  ): Promise<Answer<T> | undefined> {
    return new Promise((resolve) => {
      if (this.exited) return resolve(undefined);
      const t = setTimeout(() => {
        this.waiters.delete(type);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.set(type, (a) => {
        clearTimeout(t);
        resolve(a as Answer<T> | undefined);
      });
      this.post(m);
    });
  }

  /** user + system CPU time in ms, every thread (readProcCpuMs) */
  cpuMs(): number {
    return readProcCpuMs(this.pid);
  }

  /**
   * Closes its sockets and exits. Interrupted, within `withinMs` (part of the 5 s runMain
   * allows): half of it for the worker's own teardown, the rest until SIGKILL.
   */
  async close(withinMs?: number): Promise<void> {
    if (this.exited) return;
    const interrupted = withinMs !== undefined;
    await this.ask(
      { cmd: 'teardown' },
      'closed',
      interrupted ? Math.min(2000, withinMs / 2) : 15_000,
    );
    if (!this.exited) {
      await childExited(
        this.child,
        interrupted ? Math.min(INTERRUPTED_EXIT_MS, withinMs / 2) : undefined,
      );
    }
  }
}

/** A full collection in every worker (and its stats back): what is held, not garbage, is read. */
async function collect(sides: Side[]): Promise<void> {
  await Promise.all(sides.map((s) => s.ask({ cmd: 'gc' }, 'progress', 10_000)));
}

function workerEntry(): string {
  const sibling = fileURLToPath(new URL('./tls-worker.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  const dist = fileURLToPath(new URL('../../dist/scale/tls-worker.js', import.meta.url));
  if (existsSync(dist)) return dist;
  throw new FourtupleError(
    'FOURTUPLE_NO_WORKER',
    `TLS worker entry not found (looked for ${sibling}); run npm run build`,
  );
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

function p99(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]!;
}

/** Failures by code, summed over the workers of one side. */
function sumFailures(sides: Side[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of sides) {
    for (const [k, v] of Object.entries(s.stats.failures)) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}

function sum(sides: Side[], f: (s: Side) => number): number {
  return sides.reduce((n, s) => n + f(s), 0);
}

function sizes(sides: Side[]): { rss: number; pss: number } {
  return sides.reduce(
    (a, s) => {
      const z = readProcSize(s.pid);
      return { rss: a.rss + z.rssBytes, pss: a.pss + z.pssBytes };
    },
    { rss: 0, pss: 0 },
  );
}

/** What one measured run gives, besides its figures: what the result's other fields need. */
interface Measured {
  figures: TlsRunFigures;
  negotiated?: TlsStats['negotiated'];
  ports: { checked: number; match: boolean };
  handshakeError: string | undefined;
  peak: { slabBytes: number; pssBytes: number; rssBytes: number; sockstat: Sockstat };
  sockstat: MaxResult['sockstat'];
  timing: MaxResult['timing'];
  series: MaxResult['series'];
  rates: number[];
  stoppedBy: MaxResult['stoppedBy'];
  memMinBytes: number;
}

interface RunSpec {
  connections: number;
  tls: TlsSetup | undefined;
  /** servers on loopback (ours), or only clients to these targets */
  targets: Destination[];
  holdMs: number;
  window: number;
  /** connects per second over all client workers (--rate); undefined: as fast as they go */
  rate: number | undefined;
  connectTimeoutMs: number;
  verifyTimeoutMs: number;
  durationMs: number;
  floorBytes: number;
  signal: AbortSignal | undefined;
  onProgress: (p: Progress) => void;
}

/** Starts the workers of one run, ramps, holds, verifies with an echo, tears down. */
async function measure(spec: RunSpec): Promise<Measured> {
  const entry = workerEntry();
  const sockBefore = readSockstatNow();
  const own = spec.targets.length === 0;
  const perSide = Math.max(1, Math.ceil(spec.connections / PER_PROCESS));
  const servers: Side[] = [];
  const clients: Side[] = [];
  const all = (): Side[] => [...servers, ...clients];
  const t0 = performance.now();
  try {
    /** `count` workers of one side, each set up and ready (a server: listening on its port) */
    const start = async (
      into: Side[],
      role: 'server' | 'client',
      to: Destination[],
    ): Promise<number[]> => {
      for (let i = 0; i < perSide; i++) into.push(new Side(entry));
      const setup: ToTlsWorker = {
        cmd: 'setup',
        role,
        tls: spec.tls,
        host: '127.0.0.1',
        targets: to,
        connectTimeoutMs: spec.connectTimeoutMs,
      };
      const ready = await Promise.all(into.map((w) => w.ask(setup, 'ready', 15_000)));
      return ready.map((r, k) => {
        if (r) return r.port;
        const w = into[k]!;
        throw new FourtupleError(
          'FOURTUPLE_NO_WORKER',
          `TLS ${role} worker ${w.pid} did not start${w.error ? `: ${w.error}` : ''}`,
        );
      });
    };
    const targets = own
      ? (await start(servers, 'server', [])).map((port) => ({ host: '127.0.0.1', port }))
      : spec.targets;
    await start(clients, 'client', targets);
    const startupMs = Math.round(performance.now() - t0);

    // before the ramp: each side's CPU and memory, the kernel's Slab
    await collect(all());
    const mem0 = readMem();
    const sock0 = readSockstatNow();
    const cpu0 = { server: sum(servers, (s) => s.cpuMs()), client: sum(clients, (s) => s.cpuMs()) };
    const size0 = { server: sizes(servers), client: sizes(clients) };
    const rampStart = performance.now();
    let stoppedBy: MaxResult['stoppedBy'] | undefined;
    // interrupted: everything after the signal shares INTERRUPTED_BUDGET_MS (runMain allows 5 s
    // in all, and under load each bounded wait alone fitted but together they did not)
    let abortedAt: number | undefined;
    const budgetLeft = (): number =>
      abortedAt === undefined
        ? Number.POSITIVE_INFINITY
        : Math.max(0, abortedAt + INTERRUPTED_BUDGET_MS - performance.now());
    let giveUpRamp: () => void = () => {};
    const rampGivenUp = new Promise<undefined[]>((resolve) => {
      giveUpRamp = () => resolve(clients.map(() => undefined));
    });
    const stopAll = (why: MaxResult['stoppedBy']): void => {
      stoppedBy ??= why;
      // interrupted: the process has 5 s to exit (runMain), no time to finish handshakes
      const now = why.reason === 'interrupted';
      for (const c of clients) c.post({ cmd: 'stop', now });
    };
    const onAbort = (): void => {
      abortedAt ??= performance.now();
      // the workers' last progress is the count; their answer to the ramp is waited for 1 s at most
      setTimeout(giveUpRamp, 1000).unref();
      // words for the detail only (an InterruptedError names its signal)
      const why: unknown = spec.signal?.reason;
      stopAll({
        reason: 'interrupted',
        detail: `interrupted (${why instanceof Error ? why.message : 'signal'})`,
      });
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    if (spec.signal?.aborted) onAbort(); // while the workers started
    const deadline = setTimeout(
      () =>
        stopAll({
          reason: 'duration',
          detail: `the ramp reached --duration (${spec.durationMs} ms)`,
        }),
      spec.durationMs,
    );
    const series: MaxResult['series'] = [];
    const rates = { server: [] as number[], client: [] as number[] };
    let memMinBytes = mem0.availableBytes;
    let last = { t: 0, server: 0, client: 0 };
    const sampler = setInterval(() => {
      const t = Math.round(performance.now() - rampStart);
      const est = {
        server: sum(servers, (s) => s.stats.established),
        client: sum(clients, (s) => s.stats.established),
      };
      const dt = (t - last.t) / 1000;
      const rate = Math.round((est.client - last.client) / dt);
      rates.client.push(rate);
      rates.server.push(Math.round((est.server - last.server) / dt));
      last = { t, ...est };
      const m = readMem();
      memMinBytes = Math.min(memMinBytes, m.availableBytes);
      const failures = sumFailures(clients);
      const s = {
        t,
        established: est.client,
        accepted: est.server,
        rate,
        failures,
        memAvailableBytes: m.availableBytes,
        slabBytes: m.slabBytes,
        rssBytes: sizes(all()).rss,
      };
      series.push(s);
      spec.onProgress({ ...s, phase: 'ramp', target: spec.connections, workers: all().length });
      if (m.availableBytes < spec.floorBytes) {
        stopAll({
          reason: 'memory-guard',
          detail: `stopped by the memory guard: MemAvailable ${Math.round(m.availableBytes / 2 ** 20)} MiB fell below the floor of ${Math.round(spec.floorBytes / 2 ** 20)} MiB`,
        });
      }
    }, 1000);
    const quota = (k: number): number =>
      Math.floor(spec.connections / perSide) + (k < spec.connections % perSide ? 1 : 0);
    const ramped = await Promise.race([
      rampGivenUp,
      Promise.all(
        clients.map((c, k) =>
          c.ask(
            // TLS: 32 handshakes in flight per client are enough to keep its core busy; more only
            // lengthen each handshake's time in the queue
            {
              cmd: 'ramp',
              connections: quota(k),
              window: spec.tls ? Math.min(32, spec.window) : spec.window,
              ...(spec.rate ? { rate: spec.rate / clients.length } : {}),
            },
            'ramped',
            spec.durationMs + 60_000,
          ),
        ),
      ),
    ]);
    const clientDone = performance.now();
    const clientEstablished = sum(clients, (c) => c.stats.established);
    // the server finishes its side of each handshake a moment after the client does
    if (own) {
      const until = performance.now() + (spec.signal?.aborted ? Math.min(300, budgetLeft()) : 5000);
      while (
        sum(servers, (s) => s.stats.established) < clientEstablished &&
        performance.now() < until
      ) {
        await sleep(20);
      }
    }
    clearInterval(sampler);
    clearTimeout(deadline);
    const rampMs = Math.round(performance.now() - rampStart);
    const cpu1 = { server: sum(servers, (s) => s.cpuMs()), client: sum(clients, (s) => s.cpuMs()) };
    // a full collection in every worker makes the held memory exact; interrupted, it is time
    // the 5 s runMain allows cannot spare (under load it cost the printed result)
    if (!spec.signal?.aborted) await collect(all());
    const mem1 = readMem();
    const size1 = { server: sizes(servers), client: sizes(clients) };
    const sockPeak = readSockstatNow();
    if (ramped.some((r) => !r)) {
      const bad = clients.find((c) => c.error || c.exited);
      stopAll({
        reason: 'worker-crash',
        detail: `TLS client worker ${bad?.pid ?? '?'} ${bad?.error ?? 'exited'}`,
      });
    }
    const wall = clients.map((c) => c.stats.wall).find((w) => w);
    if (wall) stopAll({ reason: 'wall', detail: wall, side: 'client' });
    if (!stoppedBy) {
      stopAll(
        clientEstablished >= spec.connections
          ? { reason: 'target', detail: `reached the requested ${spec.connections} connections` }
          : { reason: 'capacity', detail: 'the workers could not hold more' },
      );
    }

    // hold, then the encrypted echo on every connection
    const tHold = performance.now();
    const holdMs = spec.signal?.aborted ? 0 : spec.holdMs;
    while (performance.now() - tHold < holdMs && !spec.signal?.aborted)
      await sleep(Math.min(200, holdMs));
    const tVerify = performance.now();
    // interrupted: nothing is checked, everything held is unverified (not dead)
    const checked = await Promise.all(
      clients.map((c) =>
        spec.signal?.aborted
          ? undefined
          : c.ask(
              { cmd: 'verify', timeoutMs: spec.verifyTimeoutMs },
              'verified',
              spec.verifyTimeoutMs + 10_000,
            ),
      ),
    );
    const verifyMs = Math.round(performance.now() - tVerify);
    const count = (f: 'alive' | 'dead' | 'unverified'): number =>
      checked.reduce(
        (n, r, k) => n + (r ? r.result[f] : f === 'unverified' ? clients[k]!.stats.established : 0),
        0,
      );

    // the source ports the raw layer bound are the ones the servers saw
    let ports = { checked: 0, match: false };
    if (own && !spec.signal?.aborted) {
      const seen = async (sides: Side[]): Promise<number[]> =>
        (await Promise.all(sides.map((s) => s.ask({ cmd: 'ports' }, 'ports', 10_000)))).flatMap(
          (a) => a?.ports ?? [],
        );
      const mine = (await seen(clients)).sort((a, b) => a - b);
      const theirs = (await seen(servers)).sort((a, b) => a - b);
      ports = { checked: mine.length, match: mine.length > 0 && mine.join() === theirs.join() };
    }

    const tTeardown = performance.now();
    // the clients first (their RSTs close the server ends too), each side's workers together
    const interrupted = spec.signal?.aborted ?? false;
    if (interrupted) {
      // runMain gives 5 s in all: both sides at once (each socket closes with an RST either way)
      await Promise.all(all().map((s) => s.close(Math.max(500, budgetLeft() - 500))));
    } else {
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all(servers.map((s) => s.close()));
    }
    spec.signal?.removeEventListener('abort', onAbort);
    // the RSTs leave no TIME_WAIT: none of this run's sockets may be left in the kernel's tables
    const settled = await settleSockstat(
      spec.signal?.aborted ? Math.min(1500, budgetLeft()) : 10_000,
      {
        before: sockBefore,
        listenPorts: own ? targets.map((d) => d.port) : [],
        targets: own ? [] : targets,
        already: 0,
      },
    );
    const teardownMs = Math.round(performance.now() - tTeardown);

    const serverEstablished = sum(servers, (s) => s.stats.established);
    const n = (x: number): number => (x > 0 ? x : Number.POSITIVE_INFINITY);
    const sideCost = (side: 'server' | 'client', sides: Side[], est: number): TlsSideCost => {
      const cpuMs = Math.round(cpu1[side] - cpu0[side]);
      const hs = side === 'server' ? rates.server : rates.client;
      return {
        processes: sides.length,
        handshakesPerSec:
          median(hs.filter((r) => r > 0)) ||
          Math.round((est / Math.max(1, clientDone - rampStart)) * 1000),
        cpuMs,
        cpuUsPerHandshake: Math.round((cpuMs * 1000) / n(est)),
        pssBytesPerConnection: Math.round(Math.max(0, size1[side].pss - size0[side].pss) / n(est)),
        rssBytesPerConnection: Math.round(Math.max(0, size1[side].rss - size0[side].rss) / n(est)),
      };
    };
    const resumed = sum(clients, (c) => c.stats.resumed);
    const latencies = clients.flatMap((c) => c.stats.latenciesMs);
    const failures = sumFailures(clients);
    const figures: TlsRunFigures = {
      protocol: spec.tls ? 'tls' : 'tcp',
      requested: spec.connections,
      established: clientEstablished,
      alive: count('alive'),
      dead: count('dead'),
      unverified: count('unverified'),
      resumed,
      resumedShare:
        clientEstablished > 0 ? Math.round((resumed / clientEstablished) * 1000) / 1000 : 0,
      rampMs,
      latencyMs: { median: median(latencies), p99: p99(latencies) },
      kernelBytesPerConnection: Math.round(
        Math.max(0, mem1.slabBytes - mem0.slabBytes) / n(clientEstablished),
      ),
      kernelTrusted: ownGrowth(
        sockPeak.tcpInuse - sock0.tcpInuse,
        (own ? 2 : 1) * clientEstablished,
      ),
      server: sideCost('server', servers, serverEstablished),
      client: sideCost('client', clients, clientEstablished),
      failures,
    };
    return {
      figures,
      ...(clients.find((c) => c.stats.negotiated)
        ? { negotiated: clients.find((c) => c.stats.negotiated)!.stats.negotiated }
        : {}),
      ports,
      handshakeError: clients.map((c) => c.stats.handshakeError).find((e) => e),
      peak: {
        slabBytes: mem1.slabBytes,
        pssBytes: size1.server.pss + size1.client.pss,
        rssBytes: size1.server.rss + size1.client.rss,
        sockstat: sockPeak,
      },
      timing: {
        startupMs,
        rampMs,
        timeToPeakMs: Math.round(clientDone - rampStart),
        holdMs,
        verifyMs,
        teardownMs,
      },
      series,
      sockstat: {
        before: sockBefore,
        peak: sockPeak,
        after: settled.sockstat,
        clean: settled.clean,
      },
      rates: rates.client,
      stoppedBy: stoppedBy!,
      memMinBytes,
    };
  } finally {
    for (const s of all()) if (!s.exited) s.child.kill('SIGTERM');
  }
}

/** TLS 1.3 or 1.2, the certificate, the shared ticket keys: what every worker is given. */
function tlsSetup(options: MaxOptions, pair: CertPair): TlsSetup {
  return {
    certPem: pair.certPem,
    keyPem: pair.keyPem,
    version: options.tls?.version === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
    ticketKeys: randomBytes(48).toString('base64'),
    resume: options.tls?.resume ?? false,
    verify: (options.targets ?? []).length === 0,
  };
}

/** The machine's TCP sockets grew by about the run's own (10%, 50 sockets of slack). */
function ownGrowth(grown: number, own: number): boolean {
  return Math.abs(grown - own) <= own * 0.1 + 50;
}

function wall(cores: number, cost: TlsSideCost, n: number): TlsWall {
  return cpuWall(cores, cost.cpuUsPerHandshake, n);
}

/** Opens N TLS connections (after a plain-TCP baseline), holds, verifies, reports the costs. */
export async function runMaxTls(
  options: MaxOptions,
  onProgress: (p: Progress) => void = () => {},
): Promise<MaxResult> {
  options.signal?.throwIfAborted();
  checkMaxTargets(options);
  const cert = options.tls?.cert ?? 'ecdsa';
  const pair = typeof cert === 'string' ? makeThrowawayCert(cert) : readCertFile(cert.file);
  const machine = readMachine();
  const floorBytes = options.memoryFloorBytes ?? defaultMemoryFloor(machine.mem.totalBytes);
  const requested = options.connections === 'auto' ? 10_000 : options.connections;
  const targets = options.targets ?? [];
  const base = (connections: number, tls: TlsSetup | undefined, holdMs: number): RunSpec => ({
    connections,
    tls,
    targets,
    holdMs,
    window: options.window ?? 128,
    rate: options.rate,
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    verifyTimeoutMs: options.verifyTimeoutMs ?? 30_000,
    durationMs: options.durationMs ?? defaultDurationMs({ tls: true }),
    floorBytes,
    signal: options.signal,
    onProgress,
  });
  // the baseline needs both ends ours: a TLS target would not echo plain bytes
  const baselineN = targets.length ? 0 : Math.min(options.tls?.baseline ?? 2000, requested);
  const baseline =
    baselineN > 0 && !options.signal?.aborted
      ? await measure(base(baselineN, undefined, 0))
      : undefined;
  const floor = measureCryptoFloor(pair);
  // interrupted during the baseline: there is no TLS run to report
  options.signal?.throwIfAborted();
  const run = await measure(base(requested, tlsSetup(options, pair), options.holdMs ?? 10_000));
  // not one handshake: the target does not speak TLS (or not this version), an error, not a run
  if (run.figures.established === 0 && run.handshakeError) {
    throw new FourtupleError('FOURTUPLE_TLS_HANDSHAKE', run.handshakeError);
  }
  const f = run.figures;
  const b = baseline?.figures;
  // A Slab delta another program disturbed is not ours: the baseline's, when it was not, stands
  // in (the TLS state lives in the process; the kernel holds the same TCP socket either way);
  // when neither was, the walls count the processes' memory only, and say so.
  const kernelCounted = f.kernelTrusted || (b?.kernelTrusted ?? false);
  const kernelOf = (x: TlsRunFigures): number =>
    x.kernelTrusted
      ? x.kernelBytesPerConnection
      : b?.kernelTrusted
        ? b.kernelBytesPerConnection
        : 0;
  const perConn = f.server.pssBytesPerConnection + f.client.pssBytesPerConnection + kernelOf(f);
  const room = Math.max(0, machine.mem.availableBytes - floorBytes);
  const tlsResult: TlsResult = {
    version: options.tls?.version === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
    cert: pair.source,
    key: pair.key,
    resume: options.tls?.resume ?? false,
    negotiated: run.negotiated ?? { protocol: '', cipher: '', group: '' },
    openssl: process.versions.openssl,
    node: process.versions.node,
    ports: run.ports,
    floor: {
      ...floor,
      serverTimes: floor.serverUs ? +(f.server.cpuUsPerHandshake / floor.serverUs).toFixed(1) : 0,
      clientTimes: floor.clientUs ? +(f.client.cpuUsPerHandshake / floor.clientUs).toFixed(1) : 0,
    },
    run: f,
    ...(b ? { baseline: b } : {}),
    walls: {
      cores: machine.cores,
      cpu: {
        server: wall(machine.cores, f.server, requested),
        client: wall(machine.cores, f.client, requested),
        ...(b
          ? {
              baselineServer: wall(machine.cores, b.server, requested),
              baselineClient: wall(machine.cores, b.client, requested),
            }
          : {}),
      },
      memory: {
        tls: perConn > 0 ? Math.floor(room / perConn) : 0,
        ...(b
          ? {
              tcp: Math.floor(
                room /
                  Math.max(
                    1,
                    b.server.pssBytesPerConnection + b.client.pssBytesPerConnection + kernelOf(b),
                  ),
              ),
            }
          : {}),
        bytesPerConnection: perConn,
        kernelCounted,
      },
    },
  };
  const rs = run.rates.filter((r) => r > 0);
  const meanPerSec = f.rampMs > 0 ? Math.round((f.established / f.rampMs) * 1000) : 0;
  return {
    ...tag('max'),
    requested: options.connections,
    planned: requested,
    mode: targets.length === 0 ? 'loopback' : 'target',
    targets: targets.map((d) => `${d.host}:${d.port}`),
    workers: f.server.processes + f.client.processes,
    fdsPerWorker: machine.nofile.soft,
    connectionsPerWorker: Math.min(PER_PROCESS, requested),
    established: f.established,
    accepted: targets.length === 0 ? f.established : 0,
    alive: f.alive,
    dead: f.dead,
    unverified: f.unverified,
    failures: f.failures,
    failuresByKind: {},
    probes: {
      probe: 'tls-echo',
      kind: 'echo',
      intervalMs: 0,
      verifyTimeoutMs: options.verifyTimeoutMs ?? 30_000,
      rounds: [],
    },
    stoppedBy: run.stoppedBy,
    timing: run.timing,
    rate: rs.length
      ? { medianPerSec: median(rs), peakPerSec: Math.max(...rs), meanPerSec }
      : { medianPerSec: meanPerSec, peakPerSec: meanPerSec, meanPerSec },
    memory: {
      slabBeforeBytes: machine.mem.slabBytes,
      slabPeakBytes: run.peak.slabBytes,
      kernelBytesPerConnection: kernelOf(f),
      processRssBytes: run.peak.rssBytes,
      processPssBytes: run.peak.pssBytes,
      processRssBytesPerConnection: f.server.rssBytesPerConnection + f.client.rssBytesPerConnection,
      processPssBytesPerConnection: f.server.pssBytesPerConnection + f.client.pssBytesPerConnection,
      totalBytesPerConnection:
        f.server.rssBytesPerConnection + f.client.rssBytesPerConnection + kernelOf(f),
      totalPssBytesPerConnection: perConn,
      memAvailableMinBytes: run.memMinBytes,
      floorBytes,
    },
    sockstat: { ...run.sockstat, before: baseline?.sockstat.before ?? run.sockstat.before },
    limits: machineLimits(machine),
    crashes: [],
    series: run.series,
    tls: tlsResult,
  };
}

/**
 * Measures, rather than guesses, what one established loopback TCP connection costs: open a
 * few thousand to a listener on 127.0.0.1, read the kernel's Slab (and MemAvailable, sockstat)
 * before and after, then close every socket with an RST and check none is left behind.
 *
 * The interface says nothing about how the sockets are made: today they are node:net sockets
 * (the `holder` field says so); a raw-fd holder can replace them without changing callers.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { FourtupleError } from '../errors.js';
import { parseProcNetTcp, type Sockstat } from './procfs.js';
import { known, readLimits, readMemory, readSockstat } from './read.js';

export const DEFAULT_MEASURE_CONNECTIONS = 2000;
/** The most a measurement opens: 2 descriptors each must fit well inside RLIMIT_NOFILE. */
export const MAX_MEASURE_CONNECTIONS = 8000;
export const DEFAULT_MEASURE_TIMEOUT_MS = 30_000;

/** Descriptors the measurement leaves to the rest of the process. */
const FD_MARGIN = 256;
/** Connects in flight at once (well under somaxconn and tcp_max_syn_backlog). */
const BATCH = 250;
const HOST = '127.0.0.1';
/** The measurement opens its connections in this many steps and keeps the median. */
const STEPS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface MeasureOptions {
  /** established connections to open (both ends on this machine); default 2000 */
  connections?: number;
  /** stop, clean up and reject with the signal's reason when aborted */
  signal?: AbortSignal;
  /** give up (after cleaning up) when the whole measurement takes longer; default 30 s */
  timeoutMs?: number;
}

export interface MemorySample {
  slabBytes: number;
  memAvailableBytes: number;
  /** this process's resident set */
  rssBytes: number;
  sockstat: Sockstat;
  /** nf_conntrack_count, null when conntrack is not loaded */
  conntrackCount: number | null;
}

export interface ConnectionCost {
  /** established connections measured (each has both ends on this machine) */
  connections: number;
  /** how the sockets were held: 'node:net' (a later holder uses raw descriptors) */
  holder: string;
  /**
   * kernel memory per connection, both ends: growth of Slab in /proc/meminfo per connection,
   * the median of the steps
   */
  kernelBytesPerConnection: number;
  /** each step's figure, to show how steady it was */
  kernelBytesPerConnectionSteps: number[];
  /** user-space memory per connection in the holder, both ends: growth of this process's RSS */
  userBytesPerConnection: number;
  /** drop of MemAvailable / connections: kernel and user space together, and noisier */
  memAvailableBytesPerConnection: number;
  /** growth of sockstat "TCP mem" (buffer pages, counted against net.ipv4.tcp_mem) */
  tcpMemPagesPerConnection: number;
  /** growth of nf_conntrack_count / connections (about 1 when loopback flows are tracked) */
  conntrackEntriesPerConnection: number | null;
  /** this process's RSS before opening anything: a holder process's fixed cost */
  holderBaselineBytes: number;
  before: MemorySample;
  during: MemorySample;
  after: MemorySample;
  /** the listener's port on 127.0.0.1 (chosen by the kernel: port 0) */
  port: number;
  /** sockets on the measurement's listener port still in /proc/net/tcp after closing (0) */
  leftBehind: number;
  durationMs: number;
  method: string;
}

function conntrackCount(): number | null {
  try {
    return Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_count', 'utf8').trim());
  } catch {
    return null;
  }
}

function sample(): MemorySample {
  const mem = readMemory();
  const ss = readSockstat();
  if ('reason' in mem) throw new FourtupleError('FOURTUPLE_MEASURE_UNREADABLE', mem.reason);
  if ('reason' in ss) throw new FourtupleError('FOURTUPLE_MEASURE_UNREADABLE', ss.reason);
  return {
    slabBytes: mem.value.slabBytes,
    memAvailableBytes: mem.value.availableBytes,
    rssBytes: process.memoryUsage.rss(),
    sockstat: ss.value,
    conntrackCount: conntrackCount(),
  };
}

/** Sockets in /proc/net/tcp with `port` at either end (the listener included). */
export function socketsOnPort(port: number): number {
  let text = '';
  try {
    text = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return 0;
  }
  return parseProcNetTcp(text).filter((s) => s.localPort === port || s.remotePort === port).length;
}

function abortError(signal: AbortSignal): Error {
  const r = signal.reason;
  if (r instanceof Error) return r;
  return Object.assign(new Error('aborted'), { name: 'AbortError' });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Holds `n` loopback connections with both ends in this process: the part a raw-descriptor
 * holder will replace.
 */
class NodeNetHolder {
  readonly clients: Socket[] = [];
  readonly accepted: Socket[] = [];
  private server: Server | undefined;
  private waiters: (() => void)[] = [];
  private listening: Promise<void> = Promise.resolve();
  /** set by stop(): nothing more may be opened */
  private stopped = false;
  port = 0;

  private refuseWhenStopped(): void {
    if (this.stopped) throw new FourtupleError('FOURTUPLE_MEASURE_STOPPED', 'holder stopped');
  }

  async listen(): Promise<void> {
    this.refuseWhenStopped();
    const server = createServer((s) => {
      s.on('error', () => {});
      if (this.server !== server) {
        // accepted after close() or stop(): nobody holds it, so reset it now
        s.resetAndDestroy();
        return;
      }
      this.accepted.push(s);
      for (const w of this.waiters.splice(0)) w();
    });
    this.server = server;
    const listening = new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: HOST, port: 0, backlog: 4096 }, () => {
        server.off('error', reject);
        if (this.server !== server) {
          // stopped while the listener was being opened: close it rather than leak it
          server.close();
          reject(new FourtupleError('FOURTUPLE_MEASURE_STOPPED', 'holder stopped'));
        } else resolve();
      });
    });
    // close() waits for a listen in progress, so it never misses a listener that opens late
    this.listening = listening.catch(() => {});
    await listening;
    const addr = server.address();
    if (addr === null || typeof addr === 'string') {
      throw new FourtupleError('FOURTUPLE_MEASURE_LISTEN', 'listener has no TCP address');
    }
    this.port = addr.port;
  }

  /** Opens `n` more connections, BATCH at a time; resolves when all are established and accepted. */
  async open(n: number, check: () => void): Promise<void> {
    const target = this.accepted.length + n;
    for (let done = 0; done < n; ) {
      check();
      this.refuseWhenStopped();
      const k = Math.min(BATCH, n - done);
      const batch: Promise<void>[] = [];
      for (let i = 0; i < k; i++) {
        const s = connect({ host: HOST, port: this.port });
        this.clients.push(s);
        batch.push(
          new Promise<void>((resolve, reject) => {
            s.once('connect', () => {
              s.off('error', reject);
              s.on('error', () => {});
              resolve();
            });
            s.once('error', reject);
          }),
        );
      }
      await Promise.all(batch);
      done += k;
    }
    while (this.accepted.length < target) {
      check();
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Closes everything and refuses to open more (work still in flight stops at its next step). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.close();
  }

  /** Resets every socket (RST: no TIME_WAIT) and closes the listener. */
  async close(): Promise<void> {
    await this.listening;
    const all = [...this.clients.splice(0), ...this.accepted.splice(0)];
    const closed = all.map((s) =>
      s.destroyed && s.closed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            s.once('close', () => resolve());
            if (s.connecting || s.pending) s.destroy();
            else s.resetAndDestroy();
          }),
    );
    const server = this.server;
    this.server = undefined;
    const serverClosed = server
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    await Promise.race([Promise.all([...closed, serverClosed]), sleep(5000)]);
    // handles finish closing in the event loop's close phase, after the check phase where a
    // first setImmediate runs: the second one runs once they are gone
    await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
  }
}

/**
 * Opens `connections` established loopback connections (default 2000), measures the kernel and
 * user-space memory they cost, and closes them all with RST. Rejects with RangeError when
 * `connections` is out of range or would not fit in RLIMIT_NOFILE, with the signal's reason when
 * aborted, and with a FourtupleError on timeout; every socket is closed in every case.
 */
export async function measureConnectionCost(options: MeasureOptions = {}): Promise<ConnectionCost> {
  const n = options.connections ?? DEFAULT_MEASURE_CONNECTIONS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_MEASURE_TIMEOUT_MS;
  const signal = options.signal;
  if (!Number.isInteger(n) || n < 1 || n > MAX_MEASURE_CONNECTIONS) {
    throw new RangeError(`connections must be an integer from 1 to ${MAX_MEASURE_CONNECTIONS}`);
  }
  const nofile = known(readLimits().nofile);
  if (nofile && nofile.soft !== 'unlimited' && 2 * n + FD_MARGIN > nofile.soft) {
    throw new RangeError(
      `connections: ${n} connections need ${2 * n} descriptors; RLIMIT_NOFILE is ${nofile.soft} ` +
        `(at most ${Math.floor((nofile.soft - FD_MARGIN) / 2)})`,
    );
  }
  if (signal?.aborted) throw abortError(signal);

  const started = Date.now();
  const deadline = started + timeoutMs;
  const check = (): void => {
    if (signal?.aborted) throw abortError(signal);
    if (Date.now() > deadline) {
      throw new FourtupleError(
        'FOURTUPLE_MEASURE_TIMEOUT',
        `measurement took longer than ${timeoutMs} ms; closed every socket`,
      );
    }
  };

  const holder = new NodeNetHolder();
  let aborted: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const abortPromise = new Promise<never>((_, reject) => {
    aborted = () => reject(abortError(signal!));
    signal?.addEventListener('abort', aborted, { once: true });
    timer = setTimeout(() => {
      try {
        check();
      } catch (err) {
        reject(err);
      }
    }, timeoutMs + 10);
  });
  abortPromise.catch(() => {});
  let port = 0;
  try {
    const work = async (): Promise<
      Omit<ConnectionCost, 'after' | 'port' | 'leftBehind' | 'durationMs'>
    > => {
      await holder.listen();
      port = holder.port;
      // Warm up: the first sockets grow slab caches and the JIT; they are not what is measured.
      await holder.open(Math.min(100, n), check);
      await holder.close();
      await holder.listen();
      port = holder.port;
      await sleep(50);
      // Open in STEPS equal steps and sample after each: the median step is the cost, so a
      // burst of allocations by another program during one step does not skew it.
      const samples: MemorySample[] = [sample()];
      const sizes: number[] = [];
      for (let i = 0; i < STEPS; i++) {
        const k = Math.floor((n * (i + 1)) / STEPS) - Math.floor((n * i) / STEPS);
        if (k === 0) continue;
        await holder.open(k, check);
        await sleep(20);
        samples.push(sample());
        sizes.push(k);
      }
      const before = samples[0]!;
      const during = samples[samples.length - 1]!;
      const steps = (f: (m: MemorySample) => number): number[] =>
        sizes.map((k, i) => (f(samples[i + 1]!) - f(samples[i]!)) / k);
      const slabSteps = steps((m) => m.slabBytes);
      const ratio = (x: number): number => Math.round(x * 1000) / 1000;
      return {
        connections: n,
        holder: 'node:net',
        kernelBytesPerConnection: Math.round(median(slabSteps)),
        kernelBytesPerConnectionSteps: slabSteps.map(Math.round),
        userBytesPerConnection: Math.max(0, Math.round(median(steps((m) => m.rssBytes)))),
        memAvailableBytesPerConnection: Math.round(median(steps((m) => -m.memAvailableBytes))),
        tcpMemPagesPerConnection: ratio(
          (during.sockstat.tcpMemPages - before.sockstat.tcpMemPages) / n,
        ),
        conntrackEntriesPerConnection:
          before.conntrackCount === null || during.conntrackCount === null
            ? null
            : ratio((during.conntrackCount - before.conntrackCount) / n),
        holderBaselineBytes: before.rssBytes,
        before,
        during,
        method:
          `opened ${n} connections from ${HOST} to a listener on ${HOST} (both ends in this ` +
          `process) in ${sizes.length} steps, read /proc/meminfo Slab and MemAvailable, ` +
          '/proc/net/sockstat and RSS after each, took the median step, then closed every ' +
          'socket with RST',
      };
    };
    const result = await Promise.race([work(), abortPromise]);
    await holder.stop();
    // RST leaves nothing in TIME_WAIT; give the kernel a moment to drop the sockets.
    let leftBehind = socketsOnPort(port);
    for (let i = 0; i < 40 && leftBehind > 0; i++) {
      await sleep(50);
      leftBehind = socketsOnPort(port);
    }
    return { ...result, after: sample(), port, leftBehind, durationMs: Date.now() - started };
  } finally {
    if (aborted) signal?.removeEventListener('abort', aborted);
    clearTimeout(timer);
    await holder.stop();
  }
}

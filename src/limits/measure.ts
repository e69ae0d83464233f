/**
 * Measures, rather than guesses, what one established loopback TCP connection costs when held
 * the way `max` holds it: by a `max` worker process (raw descriptors in the scale Engine, epoll,
 * no JS object per connection), both ends in it. Opens the connections in steps, reads the
 * kernel's Slab and the worker's memory after each, and takes the slope over the steps: the
 * same quantity `max` reports (Slab delta + its processes' memory, per connection). Then stops
 * the worker (every socket reset) and checks none is left behind.
 *
 * A shared machine moves Slab for its own reasons, so the figure says how certain it is (the
 * slope's standard error, Slab's drift while nothing was opened, sockets other programs opened
 * meanwhile); the prediction falls back to DEFAULT_COST when it is not.
 */
import { execFileSync } from 'node:child_process';
import { FourtupleError, InvalidOptionError } from '../errors.js';
import { getNofileLimit } from '../sockets/rlimit.js';
import { formatBytes } from '../units.js';
import { Holder } from './_holder.js';
import {
  fdEntryListed,
  parseProcNetTcp,
  parseSmapsRollup,
  readProcInodes,
  readProcText,
  type Sockstat,
} from './procfs.js';
import { readMemory, readSockstat } from './read.js';
import { fitSlope, median, robustSlope, stepSlopes } from './slope.js';

export const DEFAULT_MEASURE_CONNECTIONS = 2000;
/** The most a measurement opens: 2 descriptors each must fit well inside RLIMIT_NOFILE. */
export const MAX_MEASURE_CONNECTIONS = 8000;
export const DEFAULT_MEASURE_TIMEOUT_MS = 30_000;

/** Descriptors the measurement leaves to the rest of the process. */
const FD_MARGIN = 256;
const HOST = '127.0.0.1';
/**
 * The measurement opens its connections in this many equal steps and fits a line through all
 * but the first: the first settles (it refills slab objects that earlier sockets freed, and
 * warms the JIT), so it costs less than the rest and than a connection at scale.
 */
const STEPS = 7;
/** Attempts at a certain figure before the last, uncertain one is returned. */
const ATTEMPTS = 3;
/** How long Slab is watched while nothing is opened, before and after the steps. */
const IDLE_MS = 300;

/**
 * When the figure is certain enough to use: the slope's standard error at most 5% of it,
 * Slab's idle drift over a step's time at most 15% of a step's growth, and other programs'
 * sockets at most 5% of the measurement's own. Quiet, the error was at most 0.8% (five runs);
 * beside a 200k `max` loop 0.3-9.6%, and the run at 9.6% read 9.1 KiB where the others read
 * 7.6-8.0: at 10% it was taken, at 5% it is measured again.
 */
export const CERTAINTY = { relativeError: 0.05, idleDrift: 0.15, otherSockets: 0.05 } as const;

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
  /** the holder's (a `max` worker's) resident set */
  rssBytes: number;
  /** the holder's proportional set size (shared pages divided among their users) */
  pssBytes: number;
  /** the holder's anonymous memory (heap, stacks: its own, no other process shares it) */
  anonBytes?: number;
  /** /proc inodes in use (slabinfo proc_inode_cache); absent when /proc/slabinfo is unreadable */
  procInodes?: number;
  sockstat: Sockstat;
  /** nf_conntrack_count, null when conntrack is not loaded */
  conntrackCount: number | null;
  /** when it was taken, ms since the measurement started */
  t: number;
}

/** How far the kernel figure can be trusted on a machine where other programs run. */
export interface Certainty {
  /** every check below passed: the prediction uses the measured figures */
  certain: boolean;
  /** standard error of the kernel figure (the median step), bytes per connection */
  kernelStderrBytes: number;
  /**
   * kernelStderrBytes / kernelBytesPerConnection; null when Slab did not grow (no figure to be
   * relative to: seen beside a 200k `max` loop with 200 connections, where it was Infinity and
   * the saved result could not be read back)
   */
  relativeError: number | null;
  /** Slab's mean move while nothing was opened (before and after), scaled to one step's time, bytes */
  idleSlabDriftBytes: number;
  /** Slab's mean growth per step, bytes (what the drift is compared with) */
  stepSlabBytes: number;
  /** sockets other programs opened (+) or closed (-) while the measurement opened its own */
  otherSockets: number;
  /** why it is not certain; empty when it is */
  reasons: string[];
}

export interface DescriptorObserver {
  /**
   * /proc inodes that appeared per descriptor the measurement held, from the steps to the end of
   * the look (about 1 when a lister came by after the steps; more when others' were listed too;
   * machine-wide, so only a hint)
   */
  procInodesPerDescriptor: number;
  /**
   * their cost per connection (both ends): one /proc inode and its dentry (slab bytes) per
   * descriptor when a program listing descriptors was seen, else 0
   */
  bytesPerConnection: number;
  /** how long it looked after the steps (0 when the mark was there at once) */
  waitedMs: number;
  /**
   * where the mark of a program listing descriptors was found: entries of /proc/PID/fd that
   * another program had looked up (e.g. "this process's descriptors 1 and 2"); null when none was
   * found in the look
   */
  seenOn?: string | null;
}

export interface ConnectionCost {
  /** established connections measured (each has both ends on this machine) */
  connections: number;
  /** how the sockets were held: 'engine' (raw descriptors and epoll, as `max` holds them) */
  holder: string;
  /**
   * kernel memory per connection, both ends: the growth of Slab in /proc/meminfo per
   * connection, the median of the steps after the first (robust to one step spoilt by another
   * program)
   */
  kernelBytesPerConnection: number;
  /** each step's own figure, to show how steady it was */
  kernelBytesPerConnectionSteps: number[];
  /**
   * user-space memory per connection in the holder, both ends: the slope of the `max` worker's
   * anonymous memory (its own pages: heap, the engine's tables), the steps after the first
   */
  userBytesPerConnection: number;
  /** drop of MemAvailable per connection (median step): kernel and user space, noisier */
  memAvailableBytesPerConnection: number;
  /** growth of sockstat "TCP mem" per connection (median step; counted against tcp_mem) */
  tcpMemPagesPerConnection: number;
  /** growth of nf_conntrack_count / connections (about 1 when loopback flows are tracked) */
  conntrackEntriesPerConnection: number | null;
  /**
   * a holder process's fixed cost: the anonymous memory of the `max` worker set up and holding
   * nothing yet (else its PSS, when smaps_rollup has no Anonymous line). Not PSS: alone on a
   * machine, a node process's PSS counts the whole node binary (62 MiB measured), which the
   * many holders a wall needs share; their heaps they do not. Nor this CLI's own: it loads
   * every command (20 MiB of heap against a worker's ~9 MiB).
   */
  holderBaselineBytes: number;
  /**
   * whose memory holderBaselineBytes and userBytesPerConnection are: 'max worker' (the
   * holder); 'this process' in results from before the holder was a worker
   */
  holderBaselineOf?: 'max worker' | 'this process';
  /**
   * What a program that lists every process's descriptors (/proc/PID/fd) adds: the kernel
   * makes a /proc inode and a dentry for each descriptor it lists, about 0.9 KiB each, and
   * keeps them while the descriptor lives. On the development VM something outside the run
   * does this within a second of a new descriptor, quiet (seen for a plain Python holder too),
   * so at a wall it is ~1.8 KiB of every connection's Slab. Seen by the entries it leaves (`fdEntryListed`) on this
   * process's descriptors and the holder's; left out of `kernelBytesPerConnection`, which is the
   * connection's own cost. Null when /proc/slabinfo cannot be read (not root).
   */
  descriptorObserver?: DescriptorObserver | null;
  certainty: Certainty;
  /** measurements made to get a certain figure (the last one is this); at most 3 */
  attempts: number;
  before: MemorySample;
  during: MemorySample;
  /** after the holder stopped: the machine's figures (the holder's memory is 0: it has exited) */
  after: MemorySample;
  /** the listener's port on 127.0.0.1 (chosen by the kernel: port 0) */
  port: number;
  /** sockets on the measurement's listener port still in /proc/net/tcp after closing (0) */
  leftBehind: number;
  durationMs: number;
  method: string;
}

function conntrackCount(): number | null {
  const t = readProcText('/proc/sys/net/netfilter/nf_conntrack_count');
  return t === undefined ? null : Number(t);
}

/** Slab less what a descriptor observer added: the connections' own kernel memory. */
function ownSlab(s: MemorySample, perInode: number): number {
  return s.slabBytes - (s.procInodes ?? 0) * perInode;
}

/** The machine's memory and sockets, and the holder's (process `pid`) own memory (0 once gone). */
function sample(started: number, pid: number | undefined): MemorySample {
  const mem = readMemory();
  const ss = readSockstat();
  if ('reason' in mem) throw new FourtupleError('FOURTUPLE_MEASURE_UNREADABLE', mem.reason);
  if ('reason' in ss) throw new FourtupleError('FOURTUPLE_MEASURE_UNREADABLE', ss.reason);
  const size =
    pid === undefined
      ? undefined
      : parseSmapsRollup(readProcText(`/proc/${pid}/smaps_rollup`) ?? '');
  const procInodes = readProcInodes()?.count;
  return {
    slabBytes: mem.value.slabBytes,
    memAvailableBytes: mem.value.memAvailableBytes,
    rssBytes: size?.rssBytes ?? 0,
    pssBytes: size?.pssBytes ?? 0,
    ...(size?.anonBytes === undefined ? {} : { anonBytes: size.anonBytes }),
    ...(procInodes === undefined ? {} : { procInodes }),
    sockstat: ss.value,
    conntrackCount: conntrackCount(),
    t: Math.round(performance.now() - started),
  };
}

/**
 * Buffer pages per connection from the steps' slopes of the machine's TCP pages (sockstat
 * mem). The held connections are idle, so their own share is about 0; a figure only when every
 * step agrees (none negative, none below half the median): pages that come and go between steps
 * are another program's traffic, and were read as up to 0.45 pages per connection (a tcp_mem
 * wall at 1.3M) while another `max` verified its connections.
 */
export function ownTcpMemPages(steps: readonly number[]): number {
  if (steps.length === 0) return 0;
  const med = median([...steps]);
  const agree = steps.every((x) => x >= 0 && x >= med / 2);
  return agree ? Math.max(0, Math.round(med * 1000) / 1000) : 0;
}

/**
 * Sockets with `port` at either end (the listener included), in any state. Asked of the kernel
 * through `ss` with a filter: reading all of /proc/net/tcp costs tens of MiB of strings when
 * another program holds a few hundred thousand sockets, and that memory would count in the
 * next attempt's holder baseline. /proc/net/tcp only when `ss` is missing.
 */
export function socketsOnPort(port: number): number {
  try {
    const out = execFileSync('ss', ['-Htan', `sport = :${port} or dport = :${port}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    return out.split('\n').filter((l) => l.trim() !== '').length;
  } catch {
    const text = readProcText('/proc/net/tcp');
    if (text === undefined) return 0;
    return parseProcNetTcp(text).filter((s) => s.localPort === port || s.remotePort === port)
      .length;
  }
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new FourtupleError('FOURTUPLE_MEASURE_STOPPED', 'aborted');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Checks the count against the range and RLIMIT_NOFILE: 2 descriptors per connection. */
function checkConnections(n: number): void {
  const soft = getNofileLimit().soft;
  const most = Math.min(MAX_MEASURE_CONNECTIONS, Math.floor((soft - FD_MARGIN) / 2));
  if (!Number.isInteger(n) || n < 1 || n > most) {
    const why =
      most < MAX_MEASURE_CONNECTIONS ? ` (2 descriptors each; RLIMIT_NOFILE ${soft})` : '';
    throw new InvalidOptionError('connections', `an integer from 1 to ${most}${why}`, String(n));
  }
}

/** Slab's move (signed) over `IDLE_MS` while nothing is opened. */
async function idleDrift(
  started: number,
  pid: number,
  perInode: number,
): Promise<{ bytes: number; ms: number }> {
  const a = sample(started, pid);
  await sleep(IDLE_MS);
  const b = sample(started, pid);
  return { bytes: ownSlab(b, perInode) - ownSlab(a, perInode), ms: Math.max(1, b.t - a.t) };
}

/** Judges the steps: the certainty of the kernel figure. */
function judge(
  samples: MemorySample[],
  counts: number[],
  drift: { bytes: number; ms: number }[],
  perInode: number,
): { certainty: Certainty; kernel: number } {
  const slab = samples.map((s) => ownSlab(s, perInode));
  const fit = robustSlope(counts, slab);
  const kernel = Math.round(fit.slope);
  const steps = samples.length - 1;
  const stepMs = (samples[steps]!.t - samples[0]!.t) / steps;
  const stepSlab = (slab[steps]! - slab[0]!) / steps;
  // A program allocating steadily adds the same to every step, which no spread between steps
  // shows: the idle windows before and after see it. Their mean rate is the bias it would add;
  // the counters' per-CPU slack (a few hundred KiB either way) mostly cancels in the mean.
  const idle = Math.abs(
    (drift.reduce((a, d) => a + d.bytes / d.ms, 0) / Math.max(1, drift.length)) * stepMs,
  );
  const ours = 2 * (counts[steps]! - counts[0]!);
  const others = samples[steps]!.sockstat.socketsUsed - samples[0]!.sockstat.socketsUsed - ours;
  const relativeError = kernel > 0 ? fit.stderr / kernel : Number.POSITIVE_INFINITY;
  const reasons: string[] = [];
  if (!(kernel > 0)) reasons.push(`Slab did not grow (${kernel} B per connection)`);
  else if (relativeError > CERTAINTY.relativeError) {
    reasons.push(`the steps disagree (standard error ${Math.round(relativeError * 100)}%)`);
  }
  if (idle > CERTAINTY.idleDrift * Math.abs(stepSlab)) {
    reasons.push(
      `Slab moved ${formatBytes(idle)} per step's time while nothing was opened ` +
        '(other programs are allocating)',
    );
  }
  if (Math.abs(others) > CERTAINTY.otherSockets * ours) {
    reasons.push(`other programs opened or closed ${others} sockets meanwhile`);
  }
  return {
    kernel,
    certainty: {
      certain: reasons.length === 0,
      kernelStderrBytes: Math.round(fit.stderr),
      relativeError: Number.isFinite(relativeError)
        ? Math.round(relativeError * 1000) / 1000
        : null,
      idleSlabDriftBytes: Math.round(idle),
      stepSlabBytes: Math.round(stepSlab),
      otherSockets: others,
      reasons,
    },
  };
}

/**
 * How long, at most, the measurement waits after the steps for a sign of a program listing every
 * process's descriptors, when none is there yet. Quiet, the one on the development VM lists a
 * new process within 0.16-0.6 s; beside a 200k `max` loop within 0.05-13 s (ten tries), by when
 * this process's own descriptors (older) have mostly been listed.
 */
const OBSERVER_MS = 6000;
/** between looks while waiting */
const OBSERVER_POLL_MS = 250;

/**
 * Descriptors of this process already asked about (asking makes the entry, so each is asked
 * once for as long as the process lives).
 */
const askedOfSelf = new Set<number>();

/**
 * Looks for the mark of a program that lists every process's descriptors on the entries of
 * /proc/PID/fd of this process (the oldest it can ask of) and of the holder: each look asks of
 * one entry of each not asked before. A process counts as listed when two of the last three
 * entries asked of it were (one alone can be a preemption between the probe's calls).
 */
class ListerLook {
  private readonly procs: {
    name: string;
    pid: number;
    asked: Set<number>;
    next: number;
    last: number;
    answers: { fd: number; listed: boolean }[];
  }[];

  constructor(holderPid: number, holderMostFd: number) {
    this.procs = [
      {
        name: 'this process',
        pid: process.pid,
        asked: askedOfSelf,
        next: 0,
        last: 1023,
        answers: [],
      },
      {
        name: 'the holder',
        pid: holderPid,
        asked: new Set(),
        next: 0,
        last: holderMostFd,
        answers: [],
      },
    ];
  }

  /** Asks once more of each process; where the mark was found, or undefined. */
  look(): string | undefined {
    for (const p of this.procs) {
      while (p.next <= p.last) {
        const fd = p.next++;
        if (p.asked.has(fd)) continue;
        const listed = fdEntryListed(p.pid, fd);
        if (listed === undefined) continue; // not open
        p.asked.add(fd);
        p.answers.push({ fd, listed });
        break;
      }
      const recent = p.answers.slice(-3).filter((a) => a.listed);
      if (recent.length >= 2)
        return `${p.name}'s descriptors ${recent.map((a) => a.fd).join(' and ')}`;
    }
    return undefined;
  }
}

/**
 * Looks for a program that lists every process's descriptors (/proc/PID/fd; the kernel keeps a
 * /proc inode and a dentry for each descriptor listed, for as long as it lives), waiting up to
 * OBSERVER_MS while none is seen, and says what it costs per connection: one of each for both
 * descriptors when one was seen, else 0. Null when /proc/slabinfo cannot be read (its cost is
 * read there).
 */
async function watchObserver(
  before: MemorySample,
  holder: Holder,
  n: number,
  perInode: number,
  check: () => void,
  /** the earlier attempt's: a second look without waiting when it saw none */
  earlier: DescriptorObserver | null | undefined,
): Promise<DescriptorObserver | null> {
  if (before.procInodes === undefined) return null;
  if (earlier?.seenOn) return earlier;
  const t0 = performance.now();
  const look = new ListerLook(holder.pid, 2 * n + 1024);
  const waitMs = earlier === undefined ? OBSERVER_MS : 0;
  // two answers a process are the least that can tell: ask twice before any wait
  let seenOn = look.look() ?? look.look();
  while (seenOn === undefined && performance.now() - t0 < waitMs) {
    await sleep(OBSERVER_POLL_MS);
    check();
    seenOn = look.look();
  }
  const count = readProcInodes()?.count ?? before.procInodes;
  const perDescriptor = Math.max(0, count - before.procInodes) / (2 * n);
  return {
    procInodesPerDescriptor: Math.round(perDescriptor * 1000) / 1000,
    bytesPerConnection: seenOn === undefined ? 0 : Math.round(2 * perInode),
    waitedMs: Math.round(performance.now() - t0),
    seenOn: seenOn ?? null,
  };
}

type Stepped = Omit<ConnectionCost, 'after' | 'port' | 'leftBehind' | 'durationMs' | 'attempts'>;

/** Opens `n` connections in STEPS steps on `holder` and works out the cost from the samples. */
async function stepped(
  holder: Holder,
  n: number,
  started: number,
  check: () => void,
  /** the first attempt's: undefined until then (a later attempt looks again, without waiting) */
  observed: DescriptorObserver | null | undefined,
): Promise<Stepped> {
  const perInode = readProcInodes()?.bytesEach ?? 0;
  const drift = [await idleDrift(started, holder.pid, perInode)];
  const samples: MemorySample[] = [sample(started, holder.pid)];
  const counts: number[] = [0];
  for (let i = 1; i <= STEPS; i++) {
    const target = Math.floor((n * i) / STEPS);
    if (target === counts[counts.length - 1]) continue;
    await holder.openTo(target, check);
    samples.push(sample(started, holder.pid));
    counts.push(holder.established);
  }
  const observer = await watchObserver(samples[0]!, holder, n, perInode, check, observed);
  drift.push(await idleDrift(started, holder.pid, perInode));
  check();
  // the fit leaves out the settling step (samples[0] to samples[1])
  const fitted = samples.length > 3 ? 1 : 0;
  const xs = counts.slice(fitted);
  const ys = samples.slice(fitted);
  const { kernel, certainty } = judge(ys, xs, drift, perInode);
  const before = samples[0]!;
  const during = samples[samples.length - 1]!;
  const slope = (f: (m: MemorySample) => number): number => fitSlope(xs, ys.map(f)).slope;
  const medianStep = (f: (m: MemorySample) => number): number => median(stepSlopes(xs, ys.map(f)));
  const ratio = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    connections: n,
    holder: 'engine',
    kernelBytesPerConnection: kernel,
    kernelBytesPerConnectionSteps: stepSlopes(
      counts,
      samples.map((s) => ownSlab(s, perInode)),
    ).map(Math.round),
    userBytesPerConnection: Math.max(0, Math.round(slope((m) => m.anonBytes ?? m.rssBytes))),
    memAvailableBytesPerConnection: Math.round(medianStep((m) => -m.memAvailableBytes)),
    tcpMemPagesPerConnection: ownTcpMemPages(
      stepSlopes(
        xs,
        ys.map((m) => m.sockstat.tcpMemPages),
      ),
    ),
    conntrackEntriesPerConnection:
      before.conntrackCount === null || during.conntrackCount === null
        ? null
        : ratio((during.conntrackCount - before.conntrackCount) / n),
    holderBaselineBytes: before.anonBytes ?? before.pssBytes,
    holderBaselineOf: 'max worker',
    descriptorObserver: observer,
    certainty,
    before,
    during,
    method:
      `opened ${n} connections from ${HOST} to a listener on ${HOST} in a \`max\` worker ` +
      `(raw descriptors, epoll; both ends in it) in ${counts.length - 1} steps; after each ` +
      "read /proc/meminfo Slab and MemAvailable, /proc/net/sockstat and the worker's " +
      '/proc/PID/smaps_rollup; kernel cost = robust slope of Slab (less /proc inodes and ' +
      'their dentries, from /proc/slabinfo) over every step but the first (it settles), holder ' +
      "cost = slope of the worker's anonymous memory, baseline = that memory before the first " +
      'connection; looked for a program listing descriptors (entries of /proc/PID/fd of this ' +
      'process and the worker that another program had made); Slab watched idle before and ' +
      'after; then stopped the worker (every ' +
      'socket reset)',
  };
}

/** One attempt: a fresh holder, the steps, every socket closed with RST and checked gone. */
async function attempt(
  n: number,
  started: number,
  check: () => void,
  observed: DescriptorObserver | null | undefined,
): Promise<Omit<ConnectionCost, 'attempts'>> {
  const holder = await Holder.start(HOST, check);
  const port = holder.destination.port;
  let result: Stepped;
  try {
    result = await stepped(holder, n, started, check, observed);
  } finally {
    await holder.close();
  }
  // RST leaves nothing in TIME_WAIT; give the kernel a moment to drop the sockets.
  let leftBehind = socketsOnPort(port);
  for (let i = 0; i < 40 && leftBehind > 0; i++) {
    await sleep(50);
    leftBehind = socketsOnPort(port);
  }
  const durationMs = Math.round(performance.now() - started);
  return { ...result, after: sample(started, undefined), port, leftBehind, durationMs };
}

/**
 * Opens `connections` established loopback connections (default 2000) with the Engine,
 * measures the kernel and user-space memory they cost, and closes them all with RST; measures
 * again (up to 3 times in all) while the figure is not certain. Rejects
 * with InvalidOptionError when `connections` is out of range or would not fit in
 * RLIMIT_NOFILE, with the signal's reason when aborted, with a SyscallError when a limit stops
 * the connections, and with a FourtupleError on timeout; every socket is closed in every case.
 */
export async function measureConnectionCost(options: MeasureOptions = {}): Promise<ConnectionCost> {
  const n = options.connections ?? DEFAULT_MEASURE_CONNECTIONS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_MEASURE_TIMEOUT_MS;
  const signal = options.signal;
  checkConnections(n);
  if (signal?.aborted) throw abortError(signal);

  const started = performance.now();
  const check = (): void => {
    if (signal?.aborted) throw abortError(signal);
    if (performance.now() - started > timeoutMs) {
      throw new FourtupleError(
        'FOURTUPLE_MEASURE_TIMEOUT',
        `measurement took longer than ${timeoutMs} ms; closed every socket`,
      );
    }
  };
  // another program's burst spoils one attempt, rarely three in a row
  let observed: DescriptorObserver | null | undefined;
  for (let k = 1; ; k++) {
    const result = await attempt(n, started, check, observed);
    observed = result.descriptorObserver ?? null;
    // another attempt only while it would likely end inside the time bound (beside a busy
    // machine's load one takes 4-11 s): past half of it, the uncertain figure is the answer
    const late = performance.now() - started > timeoutMs / 2;
    if (result.certainty.certain || k === ATTEMPTS || late) return { ...result, attempts: k };
  }
}

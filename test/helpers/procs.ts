/**
 * What a CLI process leaves behind, read from the kernel: its descendant processes (from
 * /proc/PID/stat, recorded while it runs, since orphans are reparented once it exits), its
 * descriptors, the TCP sockets on given ports (ss, any state, TIME_WAIT included), its workers'
 * listening ports, /proc/net/sockstat, and a lab's namespaces and links. For the signal and
 * crash tests: they record what a run had, interrupt it, and check every piece of it is gone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LAB_STATE_DIR, parseNetnsList } from '../../src/hosts/index.js';
import { parseSockstat, type Sockstat } from '../../src/limits/procfs.js';
import type { Child } from './child.js';

export interface Proc {
  pid: number;
  /** start time in clock ticks since boot (tells a process from a later one with its pid) */
  start: number;
  cmd: string;
}

interface Stat {
  ppid: number;
  state: string;
  start: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces: the fields start after the last ')'
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: f[0]!, ppid: Number(f[1]), start: Number(f[19]) };
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Every live descendant of `root` (children, their children, ...). */
export function descendants(root: number): Proc[] {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = readStat(Number(d));
    if (!s) continue;
    const list = kids.get(s.ppid) ?? [];
    list.push(Number(d));
    kids.set(s.ppid, list);
  }
  const out: Proc[] = [];
  const todo = [...(kids.get(root) ?? [])];
  while (todo.length) {
    const pid = todo.shift()!;
    const s = readStat(pid);
    if (!s) continue;
    out.push({ pid, start: s.start, cmd: cmdline(pid) });
    todo.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/** Whether a process with this pid exists (signal 0). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Those of `procs` still running (the same process, not a zombie): what a run left behind. */
export function stillRunning(procs: Iterable<Proc>): Proc[] {
  return [...procs].filter((p) => {
    const s = readStat(p.pid);
    return s !== undefined && s.start === p.start && s.state !== 'Z';
  });
}

export interface DescendantWatch {
  /** every descendant seen so far, by pid */
  seen: Map<number, Proc>;
  /** TCP ports that `root` or a descendant was seen listening on (with `listeners: true`) */
  ports: Set<number>;
  /** stops watching; returns every descendant seen */
  stop(): Proc[];
}

/**
 * Records every descendant `root` has while it runs (polled every 20 ms: short-lived children
 * such as `ip` are caught too, most of the time; long-lived ones such as workers always), and
 * with `listeners`, the ports they listen on (ss, every 100 ms).
 */
export function watchDescendants(
  root: number,
  opts: { listeners?: boolean } = {},
): DescendantWatch {
  const seen = new Map<number, Proc>();
  const ports = new Set<number>();
  const look = (): void => {
    for (const p of descendants(root)) {
      // A child first seen between fork and exec still shows its parent's command line: keep
      // the one it has after exec (same pid, same start time), or a worker reads as the CLI.
      // An exiting process shows an empty one: keep what it had.
      const known = seen.get(p.pid);
      const execd = known?.start === p.start && known.cmd !== p.cmd && p.cmd !== '';
      if (!known || execd) seen.set(p.pid, p);
    }
  };
  const listening = (): void => {
    for (const p of listeningPorts([root, ...seen.keys()])) ports.add(p);
  };
  look();
  const timer = setInterval(look, 20);
  const portTimer = opts.listeners ? setInterval(listening, 100) : undefined;
  return {
    seen,
    ports,
    stop() {
      clearInterval(timer);
      if (portTimer) clearInterval(portTimer);
      return [...seen.values()];
    },
  };
}

/** Open descriptors of `pid` (0 when it is gone). */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

export function sockstat(): Sockstat {
  return parseSockstat(readFileSync('/proc/net/sockstat', 'utf8'))!;
}

/**
 * TCP sockets of the root namespace, in any state (listening and TIME_WAIT included), with a
 * local or remote port in one of `ranges` ([low, high], inclusive), that no live process holds
 * (inode 0) : one line per socket. Read once the processes
 * under test have exited: what is left of them is held by no process, while a live socket on
 * those ports is another program's (the kernel hands closed listeners' ports out again as
 * source ports).
 */
export function socketsOnPorts(ranges: readonly (readonly [number, number])[]): string[] {
  if (ranges.length === 0) return [];
  const terms = ranges.map(
    ([lo, hi]) =>
      `( sport >= :${lo} and sport <= :${hi} ) or ( dport >= :${lo} and dport <= :${hi} )`,
  );
  const out = execFileSync('ss', ['-Htane', terms.join(' or ')], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '' && !/\bino:[1-9]/.test(l));
}

/** Waits (up to `timeoutMs`) until no socket is on `ranges`; returns what is left. */
export async function socketsGone(
  ranges: readonly (readonly [number, number])[],
  timeoutMs = 3000,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let left = socketsOnPorts(ranges);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    left = socketsOnPorts(ranges);
  }
  return left;
}

/**
 * The TCP ports `pids` listen on (root namespace). A listener is matched by its inode: the
 * socket inodes among each process's first `lowFds` descriptors (a worker opens its listener
 * before any connection), against `ss -tlne`. Not `ss -p`: that reads every descriptor of
 * every process, seconds with a few hundred thousand sockets open.
 */
export function listeningPorts(pids: Iterable<number>, lowFds = 64): number[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    if (!existsSync(`/proc/${pid}/fd`)) continue;
    for (let fd = 0; fd < lowFds; fd++) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // no such descriptor
      }
    }
  }
  if (inodes.size === 0) return [];
  const ports: number[] = [];
  for (const line of execFileSync('ss', ['-Htlne'], { encoding: 'utf8' }).split('\n')) {
    const ino = /\bino:(\d+)/.exec(line);
    if (!ino || !inodes.has(ino[1]!)) continue;
    const local = line.trim().split(/\s+/)[3] ?? '';
    ports.push(Number(local.slice(local.lastIndexOf(':') + 1)));
  }
  return ports;
}

/**
 * The inodes of every socket `pids` hold (all their descriptors): what tells a process's own
 * sockets in /proc/net/tcp from another program's with the same addresses and ports.
 */
export function socketInodes(pids: Iterable<number>): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/**
 * Waits until /proc/net/sockstat's TCP inuse and TIME_WAIT are back within `slack` of
 * `before` (the kernel frees sockets asynchronously; other programs open some meanwhile).
 */
export async function sockstatBack(before: Sockstat, slack = 50, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let now = sockstat();
  const ok = (s: Sockstat): boolean =>
    s.tcpInuse <= before.tcpInuse + slack && s.tcpTimeWait <= before.tcpTimeWait + slack;
  while (!ok(now) && Date.now() < deadline) {
    await sleep(100);
    now = sockstat();
  }
  return now;
}

/** This run's namespaces, root-namespace links (veths, bridge) and state file, as names. */
export function labLeftovers(runId: string): string[] {
  const prefix = `ft-${runId}-`;
  const ns = parseNetnsList(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).filter(
    (n) => n.startsWith(prefix),
  );
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(prefix));
  const state = existsSync(`${LAB_STATE_DIR}/${runId}.json`)
    ? [`${LAB_STATE_DIR}/${runId}.json`]
    : [];
  return [...ns, ...links, ...state];
}

/** this checkout's TLS worker (other checkouts on the machine may run `max --tls` meanwhile) */
const TLS_WORKER = fileURLToPath(new URL('../../dist/scale/tls-worker.js', import.meta.url));

/** live processes whose command line runs this checkout's TLS worker */
export function tlsWorkersLeft(): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(TLS_WORKER);
      } catch {
        return false; // gone
      }
    });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every `stepMs` until it is true; throws after `timeoutMs`, or if `child` exits. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  opts: { timeoutMs?: number; stepMs?: number; child?: Child } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    if (await cond()) return;
    const c = opts.child;
    if (c && (c.proc.exitCode !== null || c.proc.signalCode !== null)) {
      throw new Error(
        `the child exited before ${what}; stdout:\n${c.lines.join('\n')}\nstderr:\n${c.stderr()}`,
      );
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(opts.stepMs ?? 20);
  }
}

/** The state letter of `pid` in /proc/PID/stat (R, S, T when stopped, Z), undefined if gone. */
export function procState(pid: number): string | undefined {
  return readStat(pid)?.state;
}

/**
 * Freezes `child` with SIGSTOP (for a run too short to hit from outside: the demo takes about
 * 150 ms), so a signal can be queued while it is provably mid-run. Resolves once it is stopped
 * and its output so far has been read; `thawWith(sig)` queues `sig`, then continues it.
 */
export async function freeze(child: Child): Promise<void> {
  process.kill(child.pid, 'SIGSTOP');
  await until(
    'the child to stop',
    () => {
      const s = procState(child.pid);
      return s === undefined || s === 'T' || s === 'Z';
    },
    { timeoutMs: 5000, stepMs: 5 },
  );
  // Output written before the stop may still be in the pipe: let it arrive.
  await sleep(100);
}

export function thawWith(child: Child, sig: NodeJS.Signals): void {
  process.kill(child.pid, sig);
  process.kill(child.pid, 'SIGCONT');
}

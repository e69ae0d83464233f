/**
 * `listen --workers N`: one echo listener spread over N processes. A process holds at most its
 * RLIMIT_NOFILE of connections (20000 here, not raisable), so a listener that must hold what
 * `max --target` opens is a group: N processes bind the same ip:port with SO_REUSEPORT and the
 * kernel spreads the incoming connections among their listening sockets. The parent relays each
 * process's events (tagged with its index), sums their counts, stops them all by pid, and stops
 * them all as soon as one of them dies: a group with a hole would drop its share silently.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { builtEntry } from '../_entry.js';
import { FourtupleError, SyscallError } from '../errors.js';
import { ephemeralPortRange } from '../limits/procfs.js';
import { type ErrnoCode, errnoMeaning } from '../sockets/errno.js';
import {
  emptyListenerStats,
  type ListenerEvent,
  type ListenerOptions,
  type ListenerStats,
} from './listener.js';

/** What every process of the group is given: the listener's options that cross a process. */
export type GroupListenerOptions = Pick<
  ListenerOptions,
  'host' | 'port' | 'tag' | 'reuseaddr' | 'backlog' | 'netnsPath'
>;

export type ToListenerWorker = { cmd: 'start'; options: GroupListenerOptions };
export type FromListenerWorker =
  | { type: 'event'; event: ListenerEvent; stats: ListenerStats | undefined }
  | { type: 'started'; local: string; tag: string; port: number; budget: number }
  | {
      type: 'failed';
      error: {
        name: string;
        code?: string;
        message: string;
        syscall?: string;
        address?: string;
        port?: number;
      };
    };

/** A process of the group that exited while the group was running. */
export interface WorkerExit {
  worker: number;
  pid: number;
  code: number | null;
  signal: string | null;
}

export type GroupEvent =
  /** a process's listener event; `listening` also says which process and how many there are */
  | (Exclude<ListenerEvent, { event: 'listening' }> & { worker: number })
  | (Extract<ListenerEvent, { event: 'listening' }> & {
      worker: number;
      workers: number;
      pid: number;
      /** connections this process can hold (its descriptor budget) */
      budget: number;
    })
  | ({ event: 'worker-exit' } & WorkerExit);

export interface ListenerGroup {
  /** the ip:port every process listens on */
  local: string;
  port: number;
  pids: number[];
  /** every process's counts, summed */
  stats(): ListenerStats;
  /** each process's counts, by index */
  perWorker(): ListenerStats[];
  /** Stops every process (SIGTERM by pid, SIGKILL after 3 s); resolves once all have exited. */
  close(): Promise<void>;
  /** Resolves when every process has exited: with the first that exited on its own, if one did. */
  closed: Promise<{ died?: WorkerExit }>;
}

export interface ListenerGroupOptions extends GroupListenerOptions {
  workers: number;
  signal?: AbortSignal;
}

/** how long the processes have to close their connections before SIGKILL */
const STOP_GRACE_MS = 3000;
/** how long a signal to the whole process group may take to reach this process too */
const GROUP_SIGNAL_MS = 500;
/** how long a process has to bind and listen */
const START_TIMEOUT_MS = 15_000;

/**
 * `--workers auto`: enough processes to hold every ephemeral port one client address can use
 * toward this ip:port (ip_local_port_range: the most `max --target` opens to one destination),
 * at `budget` connections each, with a quarter more because the kernel spreads connections by a
 * hash of their 4-tuple, not by how full each process is; at least 2.
 */
export function autoListenerWorkers(budget: number, ports = ephemeralPortRange().size): number {
  return Math.max(2, Math.ceil((ports * 1.25) / Math.max(1, budget)));
}

/** The error a process failed to start with, rebuilt here (a failed bind: EADDRINUSE...). */
function startError(e: Extract<FromListenerWorker, { type: 'failed' }>['error']): Error {
  if (e.name === 'SyscallError' && e.code && e.syscall) {
    const code = e.code as ErrnoCode;
    return new SyscallError(e.syscall, code, 0, errnoMeaning(code), e.address, e.port);
  }
  return new FourtupleError('FOURTUPLE_NO_WORKER', `a listener process failed: ${e.message}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  pid: number;
  stats: ListenerStats;
  exited: Promise<WorkerExit>;
}

/**
 * Starts `workers` listener processes on one ip:port (port 0: the first one's choice, which the
 * others then bind). Rejects, with every process stopped, when one cannot listen.
 */
export async function startListenerGroup(
  options: ListenerGroupOptions,
  onEvent: (e: GroupEvent) => void = () => {},
): Promise<ListenerGroup> {
  const { workers, signal, ...listenerOptions } = options;
  signal?.throwIfAborted();
  const entry = builtEntry(import.meta.url, 'endpoints/listener-worker.js');
  const procs: Proc[] = [];
  let stopping: Promise<void> | undefined;
  let died: WorkerExit | undefined;
  let resolveClosed: (end: { died?: WorkerExit }) => void = () => {};
  const closed = new Promise<{ died?: WorkerExit }>((resolve) => {
    resolveClosed = resolve;
  });
  type Started = Extract<FromListenerWorker, { type: 'started' }>;

  const spawn = (worker: number, port: number): Promise<Started> => {
    const child = fork(entry, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const pid = child.pid ?? -1;
    const proc: Proc = {
      child,
      pid,
      stats: emptyListenerStats(),
      // 'close': the process exited and its channel is drained (every event was read)
      exited: new Promise((resolve) =>
        child.once('close', (code, sig) => resolve({ worker, pid, code, signal: sig })),
      ),
    };
    procs[worker] = proc;
    child.on('error', () => {
      // a failed spawn or IPC write: 'close' follows and reports it
    });
    child.on('message', (m: FromListenerWorker) => {
      if (m.type !== 'event') return;
      if (m.stats) proc.stats = m.stats;
      if (m.event.event === 'listening') return; // said once started, with the process's budget
      onEvent({ ...m.event, worker });
    });
    void proc.exited.then(async (exit) => {
      // Ctrl-C signals the whole process group: a process that left on SIGINT or SIGTERM can
      // be ahead of this one's own handler, which is about to stop the group (not a death).
      if (exit.code === 130 || exit.code === 143) await sleep(GROUP_SIGNAL_MS);
      if (stopping || died) return;
      died = exit;
      onEvent({ event: 'worker-exit', ...exit });
      void close();
    });
    child.send({ cmd: 'start', options: { ...listenerOptions, port } } satisfies ToListenerWorker);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new FourtupleError('FOURTUPLE_NO_WORKER', 'a listener process did not start')),
        START_TIMEOUT_MS,
      );
      child.on('message', (m: FromListenerWorker) => {
        if (m.type === 'started') {
          clearTimeout(timer);
          resolve(m);
        } else if (m.type === 'failed') {
          clearTimeout(timer);
          reject(startError(m.error));
        }
      });
      void proc.exited.then((exit) => {
        clearTimeout(timer);
        reject(
          new FourtupleError(
            'FOURTUPLE_NO_WORKER',
            `listener process ${exit.pid} exited (${exit.signal ?? `code ${exit.code}`}) before it listened`,
          ),
        );
      });
    });
  };

  const close = (): Promise<void> => {
    stopping ??= (async () => {
      // by pid (ChildProcess.kill), each process of the group and nothing else
      const running = (p: Proc): boolean =>
        p.child.exitCode === null && p.child.signalCode === null;
      for (const p of procs.filter(running)) p.child.kill('SIGTERM');
      const all = Promise.all(procs.map((p) => p.exited));
      const grace = setTimeout(() => {
        for (const p of procs.filter(running)) p.child.kill('SIGKILL');
      }, STOP_GRACE_MS);
      await all;
      clearTimeout(grace);
      signal?.removeEventListener('abort', onAbort);
      resolveClosed(died ? { died } : {});
    })();
    return stopping;
  };

  const onAbort = (): void => void close();
  signal?.addEventListener('abort', onAbort, { once: true });
  const listening = (worker: number, started: Started): void => {
    const { local, tag, budget } = started;
    onEvent({ event: 'listening', local, tag, worker, workers, pid: procs[worker]!.pid, budget });
  };
  let first: Started;
  try {
    // the first binds (port 0: the kernel's choice), the others join it on the port it got
    first = await spawn(0, listenerOptions.port);
    listening(0, first);
    const rest = await Promise.all(
      Array.from({ length: workers - 1 }, (_, k) => spawn(k + 1, first.port)),
    );
    for (const [k, r] of rest.entries()) listening(k + 1, r);
  } catch (err) {
    await close();
    throw err;
  }
  if (signal?.aborted) void close();

  const sum = (): ListenerStats => {
    const total = emptyListenerStats();
    for (const p of procs) {
      for (const k of Object.keys(total) as (keyof ListenerStats)[]) total[k] += p.stats[k];
    }
    return total;
  };
  return {
    local: first.local,
    port: first.port,
    pids: procs.map((p) => p.pid),
    stats: sum,
    perWorker: () => procs.map((p) => ({ ...p.stats })),
    close,
    closed,
  };
}

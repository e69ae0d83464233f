/**
 * The connection holder the measurement uses: a `max` worker process itself (the same entry,
 * flags and messages as a `max` run's), listening on one loopback address and connecting to
 * itself, so both ends of every connection are held exactly as `max` holds them, and the
 * holder's memory is a worker's: read from its /proc/PID/smaps_rollup, not this process's,
 * which loads every command.
 */
import type { ChildProcess } from 'node:child_process';
import { FourtupleError, SyscallError } from '../errors.js';
import type { Destination, EngineStats } from '../scale/engine.js';
import type { FromWorker, ToWorker } from '../scale/messages.js';
import { forkWorker } from '../scale/pool.js';
import { errnoNumber } from '../sockets/errno.js';

/** Connects in flight at once (well under somaxconn and tcp_max_syn_backlog), as `max`'s window. */
const WINDOW = 128;
const BACKLOG = 4096;
/** How often a wait on the worker checks the measurement's abort signal and time bound. */
const CHECK_MS = 50;
/** A worker told to stop (SIGTERM: it resets every socket) that has not exited by then is killed. */
const EXIT_MS = 5000;

type Answer<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connections held by one `max` worker, both ends in it. */
export class Holder {
  /** its listener (port 0: chosen by the kernel), set once the worker is ready */
  destination: Destination = { host: '', port: 0 };
  private stats: EngineStats | undefined;
  private exited = false;
  private readonly answers: FromWorker[] = [];
  private readonly exit: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
  ) {
    this.exit = new Promise<void>((resolve) => {
      child.once('exit', () => {
        this.exited = true;
        resolve();
      });
    });
    child.on('error', () => {}); // an IPC failure ends in 'exit', which every wait sees
    child.on('message', (m: FromWorker) => {
      if ('stats' in m) this.stats = m.stats;
      if (m.type !== 'progress') this.answers.push(m);
    });
  }

  /** Starts a worker listening on `host` (port 0) and connecting to its own listener. */
  static async start(host: string, check: () => void): Promise<Holder> {
    const child = forkWorker();
    if (child.pid === undefined) {
      throw new FourtupleError('FOURTUPLE_MEASURE_WORKER', 'could not start a `max` worker');
    }
    const holder = new Holder(child, child.pid);
    try {
      const setup: ToWorker = { cmd: 'setup', listenHosts: [host], targets: [], backlog: BACKLOG };
      holder.post(setup);
      const ready = await holder.answer('ready', check);
      holder.destination = ready.listeners[0]!;
      return holder;
    } catch (err) {
      await holder.close();
      throw err;
    }
  }

  get established(): number {
    return this.stats?.established ?? 0;
  }

  /** Opens connections until `target` are established and accepted; a wall rejects. */
  async openTo(target: number, check: () => void): Promise<void> {
    this.post({ cmd: 'ramp', connections: target, window: WINDOW, rate: 0 });
    const { stats } = await this.answer('ramped', check);
    if (stats.wall) {
      const { host, port } = this.destination;
      const errno = errnoNumber(stats.wall.errno) ?? 0;
      throw SyscallError.fromErrno(stats.wall.syscall, errno, host, port);
    }
    if (stats.established < target || stats.accepted < stats.established) {
      throw new FourtupleError(
        'FOURTUPLE_MEASURE_WORKER',
        `the holder established ${stats.established} and accepted ${stats.accepted} of ${target} connections`,
      );
    }
  }

  /**
   * Stops the worker: SIGTERM, on which it resets every socket (RST: no TIME_WAIT) and exits;
   * killed if it has not exited within 5 s. Resolves once it has exited.
   */
  async close(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), EXIT_MS);
    await this.exit;
    clearTimeout(t);
  }

  private post(m: ToWorker): void {
    if (this.child.connected) this.child.send(m, () => {});
  }

  /** The worker's next answer of `type`; rejects on its error or exit, and when `check` throws. */
  private async answer<T extends FromWorker['type']>(
    type: T,
    check: () => void,
  ): Promise<Answer<T>> {
    for (;;) {
      const k = this.answers.findIndex((a) => a.type === type || a.type === 'error');
      if (k >= 0) {
        const a = this.answers.splice(k, 1)[0]!;
        if (a.type === 'error') {
          throw new FourtupleError(
            'FOURTUPLE_MEASURE_WORKER',
            `the holder (a \`max\` worker) failed: ${a.message}`,
          );
        }
        return a as Answer<T>;
      }
      if (this.exited) {
        throw new FourtupleError('FOURTUPLE_MEASURE_WORKER', 'the holder (a `max` worker) exited');
      }
      check();
      await sleep(CHECK_MS);
    }
  }
}

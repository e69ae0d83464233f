/**
 * The connection holder the measurement uses: the scale Engine `max`'s workers use, driven
 * through its public methods only (listen, addDestination, rampSlice, poll, closeAll, dispose).
 */
import { SyscallError } from '../errors.js';
import { type Destination, Engine } from '../scale/engine.js';
import { errnoNumber } from '../sockets/errno.js';

/** Connects in flight at once (well under somaxconn and tcp_max_syn_backlog), as `max`'s window. */
const WINDOW = 128;
const BACKLOG = 4096;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Connections held in one Engine, both ends in this process, the way a `max` worker holds them. */
export class Holder {
  private readonly engine: Engine;
  readonly destination: Destination;

  constructor(fdCapacity: number, host: string) {
    this.engine = new Engine(fdCapacity);
    try {
      this.destination = this.engine.listen(host, BACKLOG);
    } catch (err) {
      this.engine.dispose();
      throw err;
    }
    this.engine.addDestination(this.destination);
  }

  get established(): number {
    return this.engine.stats.established;
  }

  /** Opens connections until `target` are established and accepted; a wall rejects. */
  async openTo(target: number, check: () => void): Promise<void> {
    const e = this.engine;
    while (!e.rampSlice(target, WINDOW, Number.POSITIVE_INFINITY, 20)) {
      check();
      await tick();
    }
    const wall = e.stats.wall;
    if (wall) {
      const { host, port } = this.destination;
      throw SyscallError.fromErrno(wall.syscall, errnoNumber(wall.errno) ?? 0, host, port);
    }
    // the client end completes first: poll until the listener has accepted every server end
    while (e.stats.accepted < e.stats.established) {
      check();
      e.poll(1);
    }
  }

  /** Resets every socket (RST: no TIME_WAIT) and closes the listener and epoll. */
  close(): void {
    this.engine.closeAll();
    this.engine.dispose();
  }
}

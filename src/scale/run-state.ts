/**
 * The state of one `max` run that every part of it reads: the phase it is in and why it
 * stopped. The reason to stop has one owner, this object; the rule for which reason wins is
 * written once, in `stop`.
 */
import type { Wall } from './engine.js';
import type { Phase, ProbeRound, StoppedBy } from './types.js';

/** Causes that end the whole run, not only the ramp. */
const ENDS_RUN = new Set<StoppedBy['reason']>(['interrupted', 'worker-crash']);
/** Ends of the ramp that are not the end of the run. */
const RAMP_DONE = new Set<StoppedBy['reason']>(['target', 'capacity']);

export class RunState {
  private current: Phase = 'startup';
  /** when each phase began (epoch ms) */
  readonly phaseStartedAt: Partial<Record<Phase, number>> = { startup: Date.now() };
  /** probe rounds during the hold */
  readonly probeRounds: ProbeRound[] = [];

  get phase(): Phase {
    return this.current;
  }

  set phase(p: Phase) {
    this.current = p;
    this.phaseStartedAt[p] ??= Date.now();
  }
  private why: StoppedBy | undefined;
  private readonly listeners: ((why: StoppedBy) => void)[] = [];

  /** why the run stopped (undefined while it has not) */
  get stoppedBy(): StoppedBy | undefined {
    return this.why;
  }

  get stopped(): boolean {
    return this.why !== undefined;
  }

  get interrupted(): boolean {
    return this.why?.reason === 'interrupted';
  }

  /**
   * Stops the run (the ramp at once; later phases still run, to verify and tear down what is
   * held). The first reason to stop is the one reported, with one exception: the end of the
   * ramp ('target', 'capacity') is not the end of the run, so an interruption or a worker
   * crash during the hold or the verify replaces it (else the run would read as a success).
   * Every call is passed on to the listeners, so that no worker keeps ramping.
   */
  stop(why: StoppedBy): void {
    const replaces = this.why !== undefined && RAMP_DONE.has(this.why.reason);
    if (!this.why || (replaces && ENDS_RUN.has(why.reason))) this.why = why;
    for (const l of [...this.listeners]) l(why);
  }

  /** Calls `fn` on every stop (after the reason is recorded); returns how to stop calling it. */
  onStop(fn: (why: StoppedBy) => void): () => void {
    this.listeners.push(fn);
    return () => {
      const k = this.listeners.indexOf(fn);
      if (k >= 0) this.listeners.splice(k, 1);
    };
  }
}

/** What a wall means on this machine, in words: the reason a worker's ramp met it. */
export function wallStop(
  wall: Wall,
  where: {
    pid: number;
    fdLimit: number | undefined;
    fileMax: number;
    range: { low: number; high: number; size: number };
  },
): StoppedBy {
  const { range } = where;
  if (wall.kind && wall.kind !== 'refused') {
    // The server's wall; the summary words it again with the counts of the whole run.
    return {
      reason: 'wall',
      side: 'server',
      kind: wall.kind,
      ...(wall.errno !== 'EOF' ? { errno: wall.errno } : {}),
      syscall: wall.syscall,
      detail: `the server: ${wall.kind}`,
    };
  }
  const dest = wall.destination ?? 'the destination';
  const words: Record<string, string> = {
    EMFILE: `worker ${where.pid} reached its descriptor limit (RLIMIT_NOFILE ${where.fdLimit ?? '?'}) at ${wall.syscall}`,
    ENFILE: `the system-wide descriptor limit fs.file-max (${where.fileMax}) at ${wall.syscall}`,
    EADDRNOTAVAIL: `no ephemeral port left from 127.0.0.1 to ${dest} (range ${range.low}-${range.high}: ${range.size} ports per destination)`,
    ENOBUFS: 'the kernel ran out of socket buffer memory',
    ENOMEM: 'the kernel could not allocate memory for a socket',
    ECONNREFUSED: `nothing listens on ${dest} (the SYN was answered with an RST)`,
  };
  return {
    reason: 'wall',
    // a refused SYN: nothing listens there (the server's side, whatever the cause)
    side: wall.errno === 'ECONNREFUSED' ? 'server' : 'client',
    ...(wall.kind ? { kind: wall.kind } : {}),
    errno: wall.errno,
    syscall: wall.syscall,
    detail: `${wall.errno}: ${words[wall.errno] ?? wall.errno}`,
  };
}

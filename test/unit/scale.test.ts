/**
 * The pure parts of `max`: which reason to stop wins (RunState), how the connections are
 * shared among workers (assignQuotas), and what a wall means in words (wallStop).
 */
import { describe, expect, it } from 'vitest';
import { readProcCpuMs } from '../../src/scale/_proc.js';
import { verifyBudgetMs } from '../../src/scale/phases.js';
import {
  COST_MEASURED_AFTER,
  defaultDurationMs,
  fitsMore,
  type Plan,
  planMax,
  quotaFor,
} from '../../src/scale/plan.js';
import { RunState, wallStop } from '../../src/scale/run-state.js';
import type { StoppedBy } from '../../src/scale/types.js';

const why = (reason: StoppedBy['reason']): StoppedBy => ({ reason, detail: reason });

describe('RunState.stop: the one owner of why the run stopped', () => {
  it('keeps the first reason when a later one does not end the run', () => {
    const s = new RunState();
    s.stop(why('wall'));
    s.stop(why('memory-guard'));
    s.stop(why('duration'));
    expect(s.stoppedBy?.reason).toBe('wall');
  });

  it('a crash or an interruption after the ramp reached its target replaces target or capacity', () => {
    for (const rampEnd of ['target', 'capacity'] as const) {
      for (const cause of ['worker-crash', 'interrupted'] as const) {
        const s = new RunState();
        s.stop(why(rampEnd));
        s.stop(why('wall'));
        expect(s.stoppedBy?.reason).toBe(rampEnd);
        s.stop(why(cause));
        expect(s.stoppedBy?.reason).toBe(cause);
        s.stop(why(cause === 'worker-crash' ? 'interrupted' : 'worker-crash'));
        expect(s.stoppedBy?.reason, 'the first run-ending cause stays').toBe(cause);
      }
    }
  });

  it('a crash during the ramp is not replaced by a later interruption', () => {
    const s = new RunState();
    s.stop(why('worker-crash'));
    s.stop(why('interrupted'));
    expect(s.stoppedBy?.reason).toBe('worker-crash');
    expect(s.interrupted).toBe(false);
  });

  it('tells every listener of every stop, until it unsubscribes', () => {
    const s = new RunState();
    const heard: string[] = [];
    const off = s.onStop((w) => heard.push(w.reason));
    s.stop(why('wall'));
    s.stop(why('interrupted'));
    off();
    s.stop(why('worker-crash'));
    expect(heard).toEqual(['wall', 'interrupted']);
  });
});

/** Every worker's share in the order they are ready, as the coordinator hands them out. */
function assignQuotas(plan: Plan, capacities: number[]): number[] {
  let assigned = 0;
  return capacities.map((cap, k) => {
    const q = quotaFor({ ...plan, workers: capacities.length }, assigned, k, cap);
    assigned += q;
    return q;
  });
}

describe('quotaFor, worker by worker', () => {
  const plan = planMax({
    connections: 25_000,
    fdsPerWorker: 20_000,
    bothEnds: true,
    memAvailableBytes: 64 * 1024 ** 3,
    memoryFloorBytes: 2 * 1024 ** 3,
    fileMaxFree: 10_000_000,
    ephemeralPorts: 28_232,
    targets: 0,
  });

  it('shares the plan among the workers, each at most its part and its capacity', () => {
    expect(plan.workers).toBe(3);
    expect(assignQuotas(plan, [9_960, 9_960, 9_960])).toEqual([8_334, 8_334, 8_332]);
    expect(assignQuotas(plan, [5_000, 9_960, 9_960])).toEqual([5_000, 8_334, 8_334 + 3_332]);
  });

  it('a worker that did not say its capacity gets its part; one that did not start, none left over', () => {
    expect(assignQuotas(plan, [0, 0, 0])).toEqual([8_334, 8_334, 8_332]);
    expect(assignQuotas(plan, [])).toEqual([]);
  });
});

describe("planMax 'auto'", () => {
  // this machine: 24 GiB, fs.file-max 2,466,160; both ends here: 2 descriptors a connection
  const machine = {
    connections: 'auto' as const,
    fdsPerWorker: 20_000,
    bothEnds: true,
    memAvailableBytes: 22 * 1024 ** 3,
    memoryFloorBytes: 2 * 1024 ** 3,
    fileMaxFree: 2_466_160,
    ephemeralPorts: 28_232,
    targets: 0,
  };

  it('stops at fs.file-max for a process the kernel holds to it', () => {
    const plan = planMax(machine);
    expect(plan.boundBy).toBe('fs.file-max');
    expect(plan.connections).toBe(Math.floor((2_466_160 * 0.95) / 2));
  });

  it('plans to the memory when fs.file-max does not apply (CAP_SYS_ADMIN)', () => {
    const plan = planMax({ ...machine, fileMaxExempt: true });
    expect(plan.boundBy).toBe('memory (free for sockets, above the floor)');
    expect(plan.connections).toBe((20 * 1024 ** 3) / 4096);
  });

  it("gets 10 minutes of ramp by default, a number of connections 2 (the walls stop 'auto')", () => {
    expect(defaultDurationMs({ connections: 'auto' })).toBe(600_000);
    expect(defaultDurationMs({ connections: 1_000_000 })).toBe(120_000);
    expect(defaultDurationMs({ connections: 1000, tls: true })).toBe(600_000);
  });
});

describe('wallStop', () => {
  const where = {
    pid: 42,
    fdLimit: 200,
    fileMax: 1_000_000,
    range: { low: 32768, high: 60999, size: 28232 },
  };

  it('names the worker and its RLIMIT_NOFILE at EMFILE', () => {
    expect(wallStop({ errno: 'EMFILE', syscall: 'socket' }, where)).toEqual({
      reason: 'wall',
      side: 'client',
      errno: 'EMFILE',
      syscall: 'socket',
      detail: 'EMFILE: worker 42 reached its descriptor limit (RLIMIT_NOFILE 200) at socket',
    });
  });

  it('names the destination and the ephemeral range at EADDRNOTAVAIL', () => {
    const s = wallStop(
      { errno: 'EADDRNOTAVAIL', syscall: 'connect', destination: '127.0.0.1:7000' },
      where,
    );
    expect(s.detail).toBe(
      'EADDRNOTAVAIL: no ephemeral port left from 127.0.0.1 to 127.0.0.1:7000 (range 32768-60999: 28232 ports per destination)',
    );
  });
});

describe('verifyBudgetMs', () => {
  it('is 30 s for small runs and grows with the connections per core', () => {
    expect(verifyBudgetMs(500, 1, 2)).toBe(30_000);
    // issue 16's run: 1,171,267 connections in 118 workers on 2 cores, verify cut at 30 s
    const big = verifyBudgetMs(9926, 118, 2);
    expect(big).toBeGreaterThan(80_000);
    expect(verifyBudgetMs(9926, 118, 4)).toBeLessThan(big);
  });
});

describe('auto: starting workers from the cost measured while ramping', () => {
  const MiB = 2 ** 20;
  it('keeps starting workers until the connections given out fill the memory above the floor', () => {
    const m = {
      established: 100_000,
      costBytes: 10_000,
      freeBytes: 2048 * MiB,
      floorBytes: 1024 * MiB,
    };
    const fits = 100_000 + (1024 * MiB) / 10_000; // about 207k
    expect(fitsMore({ ...m, assigned: 150_000 })).toBe(true);
    expect(fitsMore({ ...m, assigned: Math.ceil(fits) })).toBe(false);
    // below the floor already: nothing more fits
    expect(fitsMore({ ...m, freeBytes: 512 * MiB, assigned: 100_001 })).toBe(false);
  });
  it('trusts no cost measured over fewer than COST_MEASURED_AFTER connections', () => {
    expect(
      fitsMore({
        established: COST_MEASURED_AFTER - 1,
        assigned: 10 ** 9,
        costBytes: 10 ** 9,
        freeBytes: 0,
        floorBytes: 1,
      }),
    ).toBe(true);
  });
  it('gives each worker its share as it is ready, the last one what is left', () => {
    const plan = {
      connections: 25_000,
      workers: 3,
      fdsPerWorker: 20_000,
      perWorker: 8_334,
      boundBy: 'requested',
    };
    expect(quotaFor(plan, 0, 0, 9_968)).toBe(8_334);
    expect(quotaFor(plan, 8_334, 1, 5_000)).toBe(5_000);
    expect(quotaFor(plan, 13_334, 2, 9_968)).toBe(11_666);
    expect(quotaFor(plan, 25_000, 1, 9_968)).toBe(0);
  });
});

describe('readProcCpuMs: a process CPU time to the microsecond', () => {
  it("reads this process's CPU as getrusage does, finer than /proc/PID/stat's 10 ms ticks", () => {
    const before = readProcCpuMs(process.pid);
    const u0 = process.cpuUsage();
    // ~30 ms of CPU
    const until = performance.now() + 30;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    const used = readProcCpuMs(process.pid) - before;
    const u = process.cpuUsage(u0);
    const rusage = (u.user + u.system) / 1000;
    expect(x).toBeGreaterThan(0);
    expect(used).toBeGreaterThan(rusage * 0.8 - 2);
    expect(used).toBeLessThan(rusage * 1.2 + 5);
    // not a multiple of a 10 ms tick: schedstat counts nanoseconds
    expect(Number.isInteger(readProcCpuMs(process.pid) / 10)).toBe(false);
    expect(readProcCpuMs(2 ** 22 + 1)).toBe(0); // no such process
  });
});

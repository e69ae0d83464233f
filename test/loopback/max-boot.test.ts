/**
 * A `max` worker that fails while it boots, for real: killed (SIGKILL) before it answered
 * `setup`, or unable to set up at all (its descriptor budget is below what node itself holds,
 * so epoll_create1 fails with EMFILE). Such a worker never became ready: the run must say so at
 * once (stoppedBy worker-crash, naming it), ramp nothing, and end in seconds, not wait out the
 * verify's and the teardown's timeouts (40 s and 15 s) for a worker that cannot answer.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { type MaxResult, runMax } from '../../src/scale/coordinator.js';
import { killAll, spawnCli } from '../helpers/child.js';
import {
  descendants,
  type Proc,
  sleep,
  socketsGone,
  stillRunning,
  watchDescendants,
} from '../helpers/procs.js';
import { EXIT_BOUND_MS } from '../helpers/signals.js';

afterEach(killAll);

/** three workers under a 20000-descriptor limit ((20000 - 64) / 2 each) */
const CONNECTIONS = 20_000;
/** how long each worker holds its answer to `setup` (the test hook in src/scale/worker.ts) */
const BOOT_DELAY_MS = 5000;

describe('max: a worker fails while it boots', () => {
  it('SIGKILL of one worker before it is ready: exit 1 within seconds, stoppedBy worker-crash naming it, nothing left', async () => {
    process.env.FOURTUPLE_MAX_WORKER_BOOT_DELAY_MS = String(BOOT_DELAY_MS);
    let child: ReturnType<typeof spawnCli>;
    try {
      child = spawnCli([
        'max',
        '--connections',
        String(CONNECTIONS),
        '--hold',
        '0s',
        '--json-stream',
      ]);
    } finally {
      delete process.env.FOURTUPLE_MAX_WORKER_BOOT_DELAY_MS;
    }
    const watch = watchDescendants(child.pid, { listeners: true });
    // Read afresh each time: a process first seen between fork and exec has its parent's
    // command line, and the watch keeps what it saw first.
    const workers = (): Proc[] =>
      descendants(child.pid).filter((p) => /scale\/worker\.js/.test(p.cmd));
    const t0 = Date.now();
    while (workers().length < 3 && Date.now() - t0 < 20_000) await sleep(20);
    const booting = workers();
    expect(booting.length, 'every worker started before the first answered').toBe(3);
    const victim = booting[1]!;
    const tKill = Date.now();
    process.kill(victim.pid, 'SIGKILL');

    const exit = await Promise.race([child.exited, sleep(80_000).then(() => 'hang' as const)]);
    expect(exit, 'the coordinator exits').not.toBe('hang');
    const exitMs = Date.now() - tKill;
    const seen = watch.stop();
    const { code } = exit as Awaited<typeof child.exited>;
    const result = child.events().find((e) => e.event === 'result') as unknown as
      | MaxResult
      | undefined;
    expect(result, `a result line; stderr:\n${child.stderr()}`).toBeDefined();
    const r = result!;
    expect(code).toBe(1);
    expect(r.stoppedBy.reason).toBe('worker-crash');
    expect(r.stoppedBy.detail).toContain(`worker ${victim.pid} exited (SIGKILL) during startup`);
    expect(r.crashes).toEqual([{ pid: victim.pid, code: null, signal: 'SIGKILL' }]);
    // Nothing was ramped once a worker had died, so nothing was held or lost.
    expect(r.established).toBe(0);
    expect(r.alive).toBe(0);
    expect(r.dead).toBe(0);
    // The other workers finish booting (the rest of BOOT_DELAY_MS), then verify (nothing) and
    // teardown take moments; waiting on the dead worker took 40 s + 15 s.
    // before the fix: 55 s after the kill; a loaded machine adds seconds of scheduling
    expect(exitMs, `exited ${exitMs} ms after the kill`).toBeLessThan(
      BOOT_DELAY_MS + EXIT_BOUND_MS,
    );
    expect(r.timing.verifyMs).toBeLessThan(2000);
    expect(r.timing.teardownMs).toBeLessThan(EXIT_BOUND_MS);
    expect(stillRunning(seen), 'workers left').toEqual([]);
    expect(await socketsGone([...watch.ports].map((p) => [p, p] as [number, number]))).toEqual([]);
  }, 90_000);

  it('a worker that cannot set up (EMFILE at epoll_create1) stops the run at once, named with its error', async () => {
    const t0 = performance.now();
    // 8 descriptors: fewer than node itself holds, so the worker's first new one fails.
    const r = await runMax({ connections: 100, workers: 1, fdsPerWorker: 8, holdMs: 0 });
    const ms = performance.now() - t0;
    expect(r.stoppedBy.reason).toBe('worker-crash');
    // before the fix: 55 s
    expect(ms, `took ${Math.round(ms)} ms`).toBeLessThan(2 * EXIT_BOUND_MS);
    expect(r.crashes).toHaveLength(1);
    const pid = r.crashes[0]!.pid;
    expect(r.stoppedBy.detail).toContain(`worker ${pid}: epoll_create1 EMFILE`);
    expect(r.crashes[0]).toEqual({ pid, code: 1, signal: null });
    expect(r.established).toBe(0);
  }, 90_000);
});

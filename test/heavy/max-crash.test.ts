/**
 * A `max` worker that dies mid-run, for real: `fourtuple max` runs as a child process, and one
 * of its workers (found among its children in /proc) is SIGKILLed during the hold. The
 * coordinator must notice, finish the run without it (verify the others, tear down), report
 * the partial result with the cause and exit 1, in bounded time, leaving no worker and no
 * socket behind: not even the killed worker's, which the kernel closed without our RSTs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MaxResult } from '../../src/scale/coordinator.js';
import { killAll, spawnCli } from '../helpers/child.js';
import {
  listeningPorts,
  type Proc,
  sleep,
  socketsGone,
  sockstat,
  sockstatBack,
  stillRunning,
  watchDescendants,
} from '../helpers/procs.js';

afterEach(killAll);

const CONNECTIONS = 40_000;

describe('max: a worker crashes mid-run', () => {
  it('SIGKILL of one worker during the hold: exit 1, stoppedBy worker-crash naming it, its connections dead, nothing left', async () => {
    const before = sockstat();
    const t0 = Date.now();
    const child = spawnCli([
      'max',
      '--connections',
      String(CONNECTIONS),
      '--hold',
      '5s',
      '--json-stream',
    ]);
    const watch = watchDescendants(child.pid);
    const workers = (): Proc[] =>
      [...watch.seen.values()].filter((p) => /scale\/worker\.js/.test(p.cmd));

    // The first progress sample of the hold comes within a second of it: 4 s of hold left.
    await child.waitFor((l) => l.includes('"phase":"hold"'), 40_000);
    const all = workers();
    // 40,000 connections, two descriptors each, under a 20000-descriptor limit per worker
    expect(all.length).toBeGreaterThanOrEqual(5);
    const ports = listeningPorts(all.map((w) => w.pid));
    expect(ports).toHaveLength(all.length); // each worker listens on 127.0.0.1:0
    const victim = all[Math.floor(all.length / 2)]!;
    const tKill = Date.now();
    process.kill(victim.pid, 'SIGKILL');

    // Bounded: the rest of the hold, the verify, the teardown take seconds; a minute is a hang.
    const exit = await Promise.race([child.exited, sleep(60_000).then(() => 'hang' as const)]);
    expect(exit, 'the coordinator exits after the crash').not.toBe('hang');
    const { code } = exit as Awaited<typeof child.exited>;
    const exitMs = Date.now() - tKill;
    const seen = watch.stop();
    const result = child.events().find((e) => e.event === 'result') as unknown as
      | MaxResult
      | undefined;
    expect(result, `a result line; stderr:\n${child.stderr()}`).toBeDefined();
    const r = result!;
    console.log(
      `max crash: ${all.length} workers, killed ${victim.pid} ${tKill - t0} ms after the start; ` +
        `the coordinator exited ${code} ${exitMs} ms later: ${r.stoppedBy.detail}; ` +
        `established ${r.established}, alive ${r.alive}, dead ${r.dead}; teardown ${r.timing.teardownMs} ms`,
    );

    expect(code).toBe(1);
    expect(r.stoppedBy.reason).toBe('worker-crash');
    expect(r.stoppedBy.detail).toContain(`worker ${victim.pid} exited (SIGKILL) during hold`);
    expect(r.crashes).toEqual([{ pid: victim.pid, code: null, signal: 'SIGKILL' }]);
    // The partial result: every connection was made; the killed worker's are dead, the
    // others were verified alive.
    expect(r.established).toBe(CONNECTIONS);
    expect(r.dead).toBeGreaterThan(0);
    expect(r.dead).toBeLessThanOrEqual(r.connectionsPerWorker);
    expect(r.alive + r.dead).toBe(r.established);
    expect(r.failures).toEqual({});
    // The kernel closed the killed worker's sockets; inherited SO_LINGER made those closes
    // RSTs, so nothing is left, TIME_WAIT included.
    expect(r.sockstat.clean).toBe(true);

    expect(stillRunning(seen), 'workers left').toEqual([]);
    // no worker was started after the crash (workers only: the coordinator's own `ss` runs
    // are descendants too, caught now and then by the 20 ms poll)
    expect(workers().length).toBe(all.length);
    // every connection of a worker has its listener's port at one end
    expect(await socketsGone(ports.map((p) => [p, p] as [number, number])), 'sockets left').toEqual(
      [],
    );
    const after = await sockstatBack(before);
    expect(after.tcpInuse).toBeLessThanOrEqual(before.tcpInuse + 50);
    expect(after.tcpTimeWait).toBeLessThanOrEqual(before.tcpTimeWait + 50);
  }, 90_000);
});

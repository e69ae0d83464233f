/**
 * `fourtuple listen --workers 3` as the target of `max --target`: 30,000 connections, more than
 * one process can hold (RLIMIT_NOFILE 20,000 here, not raisable), all accepted, echoed and alive,
 * spread over the group's processes by the kernel (SO_REUSEPORT).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Child, killAll, spawnCli } from '../helpers/child.js';
import { fdCount, pidExists, until } from '../helpers/procs.js';

afterEach(async () => {
  await killAll();
});

type Ev = Record<string, unknown>;
const ofKind = (c: Child, kind: string): Ev[] => c.events().filter((e) => e.event === kind);

describe('listen --workers: one listener that holds what max can open', () => {
  it('max --target: 30,000 connections to one `listen --workers 3`, all accepted and alive, none dropped', async () => {
    const N = 30_000;
    // One source address reaches one ip:port through at most ip_local_port_range's ports
    // (28,232 by default): the group listens on 0.0.0.0 and max connects through two loopback
    // addresses, 15,000 to each, both reaching the same listening sockets.
    const l = spawnCli([
      ...['listen', '--host', '0.0.0.0', '--port', '0', '--workers', '3'],
      ...['--tag', 'W', '--backlog', '4096', '--json'],
    ]);
    await l.waitFor(() => ofKind(l, 'listening').length >= 3, 30_000);
    const listening = ofKind(l, 'listening');
    const pids = listening.map((e) => e.pid as number);
    const budget = listening[0]!.budget as number;
    const port = Number(String(listening[0]!.local).split(':')[1]);
    expect(budget).toBeLessThan(N); // one process could not hold them all

    const m = spawnCli([
      ...['max', '--target', `127.0.0.1:${port},127.0.0.2:${port}`],
      ...['--connections', String(N), '--rate', '15000', '--hold', '8s'],
      ...['--probe', 'send:x,expect:W:x', '--json'],
    ]);
    // while max holds them: every connection accepted, and the group's descriptors past one
    // process's limit
    await until('30,000 accepted', () => ofKind(l, 'accept').length >= N, {
      timeoutMs: 90_000,
      stepMs: 200,
      child: l,
    });
    const fds = pids.map(fdCount);
    expect(fds.reduce((a, b) => a + b, 0)).toBeGreaterThan(N);
    const byWorker = [0, 1, 2].map((w) => ofKind(l, 'accept').filter((e) => e.worker === w).length);
    for (const n of byWorker) {
      expect(n).toBeGreaterThan(N / 6);
      expect(n).toBeLessThan(budget);
    }

    const done = await m.exited;
    const r = JSON.parse(m.lines.join('\n')) as Ev;
    expect(
      { code: done.code, established: r.established, alive: r.alive, dead: r.dead },
      m.stderr(),
    ).toEqual({ code: 0, established: N, alive: N, dead: 0 });
    expect(r.unverified).toBe(0);

    // max closed them all (RSTs); then the listener stops on SIGTERM, none dropped on the way
    await until('every connection closed', () => ofKind(l, 'close').length >= N, {
      timeoutMs: 30_000,
      stepMs: 200,
      child: l,
    });
    l.proc.kill('SIGTERM');
    expect(await l.exited).toEqual({ code: 143, signal: null });
    const stopped = ofKind(l, 'stopped')[0]!;
    expect(stopped).toMatchObject({ accepted: N, open: 0, dropped: 0, acceptErrors: 0 });
    expect((stopped.workers as Ev[]).map((w) => w.accepted)).toEqual(byWorker);
    expect(ofKind(l, 'drop')).toEqual([]);
    expect(pids.filter(pidExists)).toEqual([]);
    console.log(
      `listen --workers 3: ${N} from max (ramp ${(r.timing as Ev).rampMs} ms, ${(r.rate as Ev).meanPerSec}/s), by worker ${byWorker.join(' / ')}, descriptors ${fds.join(' / ')}`,
    );
  });
});

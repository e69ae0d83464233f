/**
 * `max` against the real kernel on loopback: a small run (20,000 connections) must establish,
 * accept and verify every one and leave /proc/net/sockstat where it found it; a tiny cap or a
 * tiny descriptor budget must name the right wall; interrupting the run leaves nothing behind.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runMax } from '../../src/scale/coordinator.js';
import { BIN } from '../helpers/cli.js';
import { freePortBlock } from '../helpers/ports.js';
import { descendants, listeningPorts, socketsGone, watchDescendants } from '../helpers/procs.js';
import { EXIT_BOUND_MS } from '../helpers/signals.js';

/** this checkout's worker (other checkouts on the machine may run `max` at the same time) */
const WORKER = fileURLToPath(new URL('../../dist/scale/worker.js', import.meta.url));

/**
 * pids of live processes whose command line runs this checkout's max worker; among `ours` (the
 * run's own, recorded while it ran) when given: another `max` of this checkout may run beside.
 */
function workerPids(ours?: ReadonlySet<number>): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    if (ours && !ours.has(Number(d))) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(WORKER)) pids.push(Number(d));
    } catch {
      // gone
    }
  }
  return pids;
}

/** The run's workers: the children of its coordinator (pid), recorded while they live. */
function ownWorkers(coordinator: number): Set<number> {
  return new Set(descendants(coordinator).map((p) => p.pid));
}

/**
 * `fourtuple max --hold 60s --json-stream` as a child process, once its first sample of the
 * hold is out: what it wrote so far (and later), and its exit code when it exits.
 */
async function maxInHold(connections: number, opts: { detached?: boolean } = {}) {
  const child = spawn(
    process.execPath,
    [BIN, 'max', '--connections', String(connections), '--hold', '60s', '--json-stream'],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached === true },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const deadline = Date.now() + 30_000;
  while (!out.includes('"phase":"hold"') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(out).toContain('"phase":"hold"');
  return {
    child,
    exited,
    stderr: () => err,
    /** the last line written: the result, once it has exited */
    lastLine: () => JSON.parse(out.trim().split('\n').at(-1)!),
  };
}

describe('fourtuple max on loopback', () => {
  it('opens 20,000 connections: established = accepted = alive = requested, and teardown is clean', async () => {
    // the ports its workers listen on, seen from outside while they live: every connection
    // has one at an end, so what is left of the run is on them
    const watch = watchDescendants(process.pid, { listeners: true });
    const r = await runMax({ connections: 20_000, holdMs: 200, verifyTimeoutMs: 20_000 });
    watch.stop();
    const ours = new Set(watch.seen.keys());
    const ports = [...watch.ports].map((p) => [p, p] as [number, number]);
    console.log(
      `max 20k: ${r.workers} workers, ramp ${r.timing.rampMs} ms, mean ${r.rate.meanPerSec}/s, ` +
        `kernel ${r.memory.kernelBytesPerConnection} B/conn, RSS ${r.memory.processRssBytesPerConnection} B/conn`,
    );
    expect(r.established).toBe(20_000);
    expect(r.accepted).toBe(20_000);
    expect(r.alive).toBe(20_000);
    expect(r.dead).toBe(0);
    expect(r.failures).toEqual({});
    expect(r.stoppedBy.reason).toBe('target');
    // 20,000 connections x 2 descriptors do not fit one worker under a 20000 limit.
    expect(r.workers).toBeGreaterThanOrEqual(Math.ceil(40_000 / r.fdsPerWorker));
    expect(ports).toHaveLength(r.workers);
    expect(r.sockstat.clean).toBe(true);
    // no socket of the run is left on those ports, in any state (TIME_WAIT included)
    expect(await socketsGone(ports)).toEqual([]);
    // the kernel's cost is real and plausible: a few KiB per connection (two sockets). It is
    // read from the machine's Slab: only when the machine's sockets grew by the run's own (and
    // hardly more: another program's run ramping meanwhile made it 98 KB) did no other
    // program move it meanwhile
    const grew = r.sockstat.peak.tcpInuse - r.sockstat.before.tcpInuse;
    if (grew >= 2 * 20_000 && grew <= 2 * 20_000 * 1.05) {
      expect(r.memory.kernelBytesPerConnection).toBeGreaterThan(2_000);
      expect(r.memory.kernelBytesPerConnection).toBeLessThan(40_000);
    }
    // what a descriptor lister made is read from /proc/slabinfo (root): at most a /proc inode
    // and a dentry (under 2 KiB together) for each of a connection's two descriptors
    const observer = r.memory.observerBytesPerConnection;
    if (process.getuid?.() === 0) expect(observer).toBeDefined();
    if (observer !== undefined) {
      expect(observer).toBeGreaterThanOrEqual(0);
      expect(observer).toBeLessThanOrEqual(2 * 2048);
    }
    expect(workerPids(ours)).toEqual([]);
  });

  it('a tiny descriptor budget names EMFILE and the worker limit as the wall', async () => {
    const r = await runMax({
      connections: 1000,
      workers: 1,
      fdsPerWorker: 200,
      holdMs: 0,
    });
    expect(r.stoppedBy.reason).toBe('wall');
    expect(r.stoppedBy.errno).toBe('EMFILE');
    expect(r.stoppedBy.detail).toMatch(/descriptor limit \(RLIMIT_NOFILE 200\)/);
    expect(r.established).toBeGreaterThan(0);
    // Every socket the worker holds is a descriptor: both ends together stay under 200.
    expect(r.established + r.accepted).toBeLessThanOrEqual(200);
    // Only connections whose server end was accepted can echo.
    expect(r.alive).toBeLessThanOrEqual(r.accepted);
    expect(r.alive).toBeGreaterThan(0);
    expect(r.failures['EMFILE']).toBeGreaterThan(0);
    // The wall is met once or a few times, not spun on: a worker out of descriptors stops
    // watching its listener (level-triggered, it would wake for the same queued SYN forever).
    expect(r.failures['EMFILE']).toBeLessThan(50);
    expect(r.sockstat.clean).toBe(true);
  });

  it('a cap of 500 stops at exactly 500 and says the target was reached', async () => {
    const r = await runMax({ connections: 500, holdMs: 0 });
    expect(r.established).toBe(500);
    expect(r.alive).toBe(500);
    expect(r.stoppedBy.reason).toBe('target');
    expect(r.workers).toBe(1);
  });

  it('with --target only connects, to a listener in another process, and verifies the echo', async () => {
    const listener = spawn(
      process.execPath,
      [BIN, 'listen', '--host', '127.0.0.1', '--port', '0', '--json'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        listener.stdout.setEncoding('utf8').once('data', (d: string) => resolve(d.split('\n')[0]!));
        listener.once('exit', () => reject(new Error('listener exited')));
      });
      // keep reading its events: a full stdout pipe would block the listener on its writes
      listener.stdout.resume();
      const local = (JSON.parse(line) as { local: string }).local;
      const port = Number(local.split(':').pop());
      const r = await runMax({
        connections: 300,
        targets: [{ host: '127.0.0.1', port }],
        holdMs: 0,
      });
      expect(r.mode).toBe('target');
      expect(r.established).toBe(300);
      expect(r.alive).toBe(300);
    } finally {
      listener.kill('SIGTERM');
      await new Promise((r) => {
        if (listener.exitCode !== null || listener.signalCode !== null) return r(undefined);
        listener.once('exit', r);
        setTimeout(() => listener.kill('SIGKILL'), 5000).unref();
      });
    }
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s during the hold: exit %i within 5 s, no worker left, sockets closed',
    async (sig, exitCode) => {
      const run = await maxInHold(4000);
      const ours = ownWorkers(run.child.pid!);
      // in the hold every worker listens: their ports, the ends of every connection of the run
      const ports = listeningPorts(workerPids(ours)).map((p) => [p, p] as [number, number]);
      expect(ports.length).toBeGreaterThan(0);
      const t0 = Date.now();
      run.child.kill(sig);
      const code = await run.exited;
      expect(Date.now() - t0).toBeLessThan(EXIT_BOUND_MS);
      expect(code).toBe(exitCode);
      // the result says so: the run was interrupted (by the signal the CLI turned into the
      // abort reason), not crashed
      expect(run.lastLine().stoppedBy).toMatchObject({
        reason: 'interrupted',
        detail: `interrupted (interrupted by ${sig})`,
      });
      expect(workerPids(ours)).toEqual([]);
      // sockets freed, none left in any state (the kernel does it asynchronously: a moment)
      expect(await socketsGone(ports, 5000)).toEqual([]);
    },
  );

  it('Ctrl-C to the whole process group (workers included) is an interruption, not worker crashes', async () => {
    const run = await maxInHold(4000, { detached: true });
    const ours = ownWorkers(run.child.pid!);
    const t0 = Date.now();
    process.kill(-run.child.pid!, 'SIGINT'); // as a terminal's Ctrl-C does: every process of the group
    const code = await run.exited;
    expect(Date.now() - t0).toBeLessThan(EXIT_BOUND_MS);
    expect(code).toBe(130);
    expect(run.stderr()).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
    const result = run.lastLine();
    expect(result.event).toBe('result');
    expect(result.stoppedBy.reason).toBe('interrupted');
    expect(result.crashes).toEqual([]);
    expect(workerPids(ours)).toEqual([]);
  });

  it('a target where nothing listens is a wall: ECONNREFUSED, named with the address, at once', async () => {
    const port = freePortBlock(1);
    const t0 = Date.now();
    const r = await runMax({
      connections: 5000,
      targets: [{ host: '127.0.0.1', port }],
      holdMs: 0,
    });
    expect(Date.now() - t0).toBeLessThan(15_000); // not spinning until --duration (120 s)
    expect(r.established).toBe(0);
    expect(r.stoppedBy.reason).toBe('wall');
    expect(r.stoppedBy.errno).toBe('ECONNREFUSED');
    expect(r.stoppedBy.detail).toContain(`127.0.0.1:${port}`);
    // at most one window of connects in flight failed, not thousands of retries
    expect(r.failures['ECONNREFUSED']).toBeLessThanOrEqual(128);
    expect(r.memory.totalBytesPerConnection).toBe(0); // no per-connection figure without connections
  });

  it('SIGKILL of the coordinator: the workers notice and exit on their own within 5 s', async () => {
    const run = await maxInHold(2000);
    const ours = ownWorkers(run.child.pid!);
    expect(workerPids(ours).length).toBeGreaterThan(0);
    run.child.kill('SIGKILL');
    const t0 = Date.now();
    while (workerPids(ours).length > 0 && Date.now() - t0 < EXIT_BOUND_MS) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(workerPids(ours)).toEqual([]);
  });
});

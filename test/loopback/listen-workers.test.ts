/**
 * `fourtuple listen --workers N`: N processes on one ip:port (SO_REUSEPORT), as a user runs it:
 * the built CLI, real connections on loopback, real signals, and every process checked by pid.
 */

import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type GroupEvent, startListenerGroup } from '../../src/endpoints/listener-group.js';
import { type Child, killAll, spawnChild, spawnCli } from '../helpers/child.js';
import { BIN, cliProcess } from '../helpers/cli.js';
import { pidExists, until } from '../helpers/procs.js';
import { EXIT_BOUND_MS } from '../helpers/signals.js';

type Ev = Record<string, unknown>;
const ofKind = (c: Child, kind: string): Ev[] => c.events().filter((e) => e.event === kind);
const sockets: net.Socket[] = [];

beforeAll(() => {
  expect(spawnSync(process.execPath, [BIN, '--version']).status, 'run `npm run build` first').toBe(
    0,
  );
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.resetAndDestroy();
  await killAll();
});

/** `listen --workers N --port 0 --json`, once every process listens: its port and pids. */
async function group(workers: number, child?: Child) {
  const l =
    child ??
    spawnCli([
      'listen',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--workers',
      String(workers),
      '--json',
    ]);
  await l.waitFor(() => ofKind(l, 'listening').length >= workers, 20_000);
  const listening = ofKind(l, 'listening');
  const port = Number(String(listening[0]!.local).split(':')[1]);
  const pids = listening.map((e) => e.pid as number);
  return { l, port, pids, listening };
}

/** A connection that sends `hi`: the echo, and how the connection ended (once it does). */
function echo(port: number): Promise<{ echo: string; end: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write('hi'));
    sockets.push(s);
    s.setEncoding('utf8');
    const end = new Promise<string>((done) => {
      s.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'));
      s.on('close', () => done('close'));
    });
    s.once('data', (d: string) => resolve({ echo: d, end }));
    s.once('error', reject);
  });
}

describe('listen --workers', () => {
  it('--workers 3 --port 0: three processes on the port the first got, connections spread over more than one, every echo right', async () => {
    const { l, port, pids, listening } = await group(3);
    expect(port).toBeGreaterThan(0);
    expect(listening.map((e) => [e.worker, e.workers, e.local])).toEqual([
      [0, 3, `127.0.0.1:${port}`],
      [1, 3, `127.0.0.1:${port}`],
      [2, 3, `127.0.0.1:${port}`],
    ]);
    expect(new Set(pids).size).toBe(3);
    for (const pid of pids) expect(pidExists(pid)).toBe(true);
    // each connection has its own source port: the kernel hashes the 4-tuple to one process
    const echoes = await Promise.all(Array.from({ length: 30 }, () => echo(port)));
    expect(new Set(echoes.map((e) => e.echo))).toEqual(new Set([`127.0.0.1:${port}:hi`]));
    await l.waitFor(() => ofKind(l, 'accept').length >= 30);
    const by = new Set(ofKind(l, 'accept').map((e) => e.worker));
    expect(by.size).toBeGreaterThan(1);
    for (const w of by) expect([0, 1, 2]).toContain(w);
  });

  it('SIGTERM exits 143 within 5 s, every connection reset, with no process of the group left', async () => {
    const { l, port, pids } = await group(3);
    const peers = await Promise.all(Array.from({ length: 9 }, () => echo(port)));
    await l.waitFor(() => ofKind(l, 'accept').length >= 9);
    const t0 = Date.now();
    l.proc.kill('SIGTERM');
    expect(await l.exited).toEqual({ code: 143, signal: null });
    expect(Date.now() - t0).toBeLessThan(EXIT_BOUND_MS);
    expect(pids.filter(pidExists)).toEqual([]);
    expect(await Promise.all(peers.map((p) => p.end))).toEqual(Array(9).fill('ECONNRESET'));
    // the counts, summed and by process, after the last close
    const stopped = ofKind(l, 'stopped');
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatchObject({ accepted: 9, open: 0, dropped: 0 });
    expect((stopped[0]!.workers as Ev[]).map((w) => w.pid)).toEqual(pids);
    expect(ofKind(l, 'close')).toHaveLength(9);
    expect(l.stderr()).toBe('');
  });

  it('Ctrl-C (SIGINT to the whole process group) exits 130 with no process left and no process taken for dead', async () => {
    const args = ['listen', '--host', '127.0.0.1', '--port', '0', '--workers', '3', '--json'];
    const child = spawnChild(process.execPath, [BIN, ...args], { detached: true });
    const { l, port, pids } = await group(3, child);
    const peer = await echo(port);
    await l.waitFor(() => ofKind(l, 'accept').length >= 1);
    process.kill(-l.pid, 'SIGINT');
    expect(await l.exited).toEqual({ code: 130, signal: null });
    expect(await peer.end).toBe('ECONNRESET');
    expect(ofKind(l, 'worker-exit')).toEqual([]);
    expect(pids.filter(pidExists)).toEqual([]);
  });

  it('a process SIGKILLed: the parent says which, stops the others and exits 1', async () => {
    const { l, pids } = await group(3);
    process.kill(pids[1]!, 'SIGKILL');
    expect(await l.exited).toEqual({ code: 1, signal: null });
    expect(ofKind(l, 'worker-exit')).toEqual([
      { event: 'worker-exit', worker: 1, pid: pids[1], code: null, signal: 'SIGKILL' },
    ]);
    expect(pids.filter(pidExists)).toEqual([]);
  });

  it('a process at its descriptor limit says so: drop events with its index, and the count in "stopped"', async () => {
    // 128 descriptors each: about 90 connections per process, 2 processes, 300 peers
    const l = spawnChild('sh', [
      '-c',
      `ulimit -n 128 && exec "${process.execPath}" "${BIN}" listen --host 127.0.0.1 --port 0 --workers 2 --json`,
    ]);
    const { port, listening } = await group(2, l);
    const budget = listening[0]!.budget as number;
    expect(budget).toBeGreaterThan(10);
    expect(budget).toBeLessThan(128);
    for (let i = 0; i < 300; i++) {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      sockets.push(s);
    }
    await l.waitFor(() => ofKind(l, 'drop').length > 0, 20_000);
    const drops = ofKind(l, 'drop');
    expect(drops[0]).toMatchObject({ worker: expect.any(Number), dropped: 1 });
    await until('every peer accepted or dropped', () => {
      return ofKind(l, 'accept').length + ofKind(l, 'drop').length >= 300;
    });
    l.proc.kill('SIGTERM');
    expect((await l.exited).code).toBe(143);
    const stopped = ofKind(l, 'stopped')[0]!;
    expect(stopped.dropped).toBe(ofKind(l, 'drop').length);
    expect(stopped.dropped as number).toBeGreaterThan(0);
    for (const w of stopped.workers as Ev[]) {
      expect(w.accepted as number).toBeLessThanOrEqual(budget + (w.dropped as number));
    }
  });

  it('a port another listener holds (without SO_REUSEPORT): exit 1 with EADDRINUSE, as one process would', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as net.AddressInfo;
    try {
      const args = ['listen', '--host', '127.0.0.1', '--port', String(port), '--workers', '2'];
      const r = cliProcess(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^fourtuple listen: error: bind EADDRINUSE 127\\.0\\.0\\.1:${port} \\(.+\\)\\n$`,
        ),
      );
    } finally {
      holder.close();
    }
  });

  it("the library: startListenerGroup sums its processes' counts and stops them all when its signal aborts", async () => {
    const ac = new AbortController();
    const events: GroupEvent[] = [];
    const g = await startListenerGroup(
      { host: '127.0.0.1', port: 0, workers: 2, tag: 'G', signal: ac.signal },
      (e) => events.push(e),
    );
    expect(g.pids).toHaveLength(2);
    expect(g.local).toBe(`127.0.0.1:${g.port}`);
    const peers = await Promise.all(Array.from({ length: 8 }, () => echo(g.port)));
    expect(new Set(peers.map((p) => p.echo))).toEqual(new Set(['G:hi']));
    await until('8 echoes counted', () => g.stats().bytesOut === 8 * 'G:hi'.length);
    expect(g.stats()).toMatchObject({ accepted: 8, open: 8, bytesIn: 16, dropped: 0 });
    const per = g.perWorker();
    expect(per[0]!.accepted + per[1]!.accepted).toBe(8);
    ac.abort();
    expect(await g.closed).toEqual({});
    expect(g.pids.filter(pidExists)).toEqual([]);
    expect(g.stats().open).toBe(0);
    expect(events.filter((e) => e.event === 'close')).toHaveLength(8);
  });

  it.each([
    ['0', /^fourtuple listen: --workers must be an integer from 1 to 256, or auto \(got 0\)\n$/],
    ['x', /^fourtuple listen: --workers must be an integer from 1 to 256, or auto \(got "x"\)\n$/],
  ])('--workers %s exits 2 with one line naming the flag and its range', (value, message) => {
    const r = cliProcess(['listen', '--host', '127.0.0.1', '--port', '0', '--workers', value]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});

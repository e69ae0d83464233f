/**
 * "Clean" is judged on the run's own sockets (its listeners' ports, its targets), in every state
 * TIME_WAIT included, never on machine-wide counts: another program's TIME_WAIT sockets made
 * during a run do not make it "NOT clean".
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countOwn, ownSocketsLeftFiltered, parseProcNetTcp } from '../../src/scale/_proc.js';
import { runMax } from '../../src/scale/coordinator.js';

let other: Server;
beforeAll(async () => {
  other = createServer((s: Socket) => s.on('error', () => {}));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
});
afterAll(() => new Promise<void>((r) => other.close(() => r())));

/** Another program's work: connections to another listener, closed first by the client, so
 * each leaves a TIME_WAIT socket on this machine for a minute. */
async function otherProgramsTimeWait(n: number): Promise<void> {
  const port = (other.address() as { port: number }).port;
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const c = tcpConnect(port, '127.0.0.1', () => c.end());
          c.on('close', () => resolve());
          c.on('error', () => resolve());
        }),
    ),
  );
}

describe('max: a clean teardown is judged on its own sockets', () => {
  it('parses /proc/net/tcp lines: ports, the remote address and the state', () => {
    const text =
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 0100007F:1F90 0100007F:D431 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000\n' +
      '   1: 00000000000000000000000001000000:1F91 00000000000000000000000001000000:C000 01 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 20 4 1 10 -1\n' +
      '   2: 0000000000000000FFFF00000100007F:1F92 0000000000000000FFFF00000200007F:C001 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 1 10 -1\n';
    expect(parseProcNetTcp(text)).toEqual([
      { localPort: 8080, remoteAddress: '127.0.0.1', remotePort: 54321, state: 6, inode: 0 },
      { localPort: 8081, remoteAddress: '0:0:0:0:0:0:0:1', remotePort: 49152, state: 1, inode: 1 },
      { localPort: 8082, remoteAddress: '127.0.0.2', remotePort: 49153, state: 10, inode: 2 },
    ]);
  });

  it("counts what the run left (no process holds it), not another program's live socket that reuses a listener's port", () => {
    const entries = [
      // ours, left: a client end in TIME_WAIT to listener port 33000, and a closing server end
      { localPort: 40000, remoteAddress: '127.0.0.1', remotePort: 33000, state: 6, inode: 0 },
      { localPort: 33000, remoteAddress: '127.0.0.1', remotePort: 40001, state: 9, inode: 0 },
      // another program, after our listener closed: source port 33000 to its own server
      { localPort: 33000, remoteAddress: '127.0.0.1', remotePort: 6379, state: 1, inode: 81 },
      { localPort: 6379, remoteAddress: '127.0.0.1', remotePort: 33000, state: 1, inode: 82 },
      // ours in target mode: a client end to the target, in TIME_WAIT
      { localPort: 41000, remoteAddress: '127.0.0.2', remotePort: 7000, state: 6, inode: 0 },
    ];
    expect(countOwn(entries, [33000], [])).toBe(2);
    expect(countOwn(entries, [], [{ host: '127.0.0.2', port: 7000 }])).toBe(1);
    expect(countOwn(entries, [34000], [])).toBe(0);
  });

  it('asked of the kernel with a filter, counts the TIME_WAIT sockets left on a port and not the live ones', async () => {
    const port = (other.address() as { port: number }).port;
    const before = ownSocketsLeftFiltered([port], []);
    // 20 connections closed by the client first: 20 TIME_WAIT client ends (no inode) on the port
    await otherProgramsTimeWait(20);
    // and one live connection to it: held by this process, not counted
    const live = tcpConnect(port, '127.0.0.1');
    await new Promise<void>((r) => live.once('connect', () => r()));
    expect(before).toBeDefined();
    expect(ownSocketsLeftFiltered([port], [])! - before!).toBe(20);
    expect(ownSocketsLeftFiltered([], [{ host: '127.0.0.1', port }])! - before!).toBe(20);
    live.resetAndDestroy();
  });

  it('another program leaving 400 TIME_WAIT sockets during the hold does not make the run NOT clean', async () => {
    let made: Promise<void> | undefined;
    const r = await runMax({ connections: 2000, holdMs: 1500, sampleMs: 250 }, (p) => {
      if (p.phase === 'hold' && !made) made = otherProgramsTimeWait(400);
    });
    await made;
    expect(r.alive).toBe(2000);
    expect(r.sockstat.after.tcpTimeWait - r.sockstat.before.tcpTimeWait).toBeGreaterThanOrEqual(
      350,
    );
    expect(r.sockstat.clean).toBe(true);
  });
});

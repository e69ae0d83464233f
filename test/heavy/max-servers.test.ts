/**
 * `max --target` against real servers (issue 14): Redis with `maxclients 2000`, nginx with
 * `worker_connections 1024`, and a listener with a tiny backlog that never accepts. Each run must
 * say whose wall it met (the server's, not this client's) and what the server did, with the bytes
 * it sent; a run that fits must pass its probe. Every server is started here with its own config
 * and stopped by its pid; nothing is left running.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { practiceSection } from '../../src/report/sections/max.js';
import { type MaxOptions, type MaxResult, runMax } from '../../src/scale/coordinator.js';
import { cli } from '../helpers/cli.js';
import {
  installed,
  startBacklogListener,
  startClosingListener,
  startIdleTimeoutListener,
  startMemcached,
  startNginx,
  startRedis,
  stopServers,
} from '../helpers/servers.js';

// CI installs the servers (.ci/run); elsewhere a machine without them skips these tests.
const haveServers = process.env.CI === 'true' || (installed('redis-server') && installed('nginx'));

/** `max --target 127.0.0.1:PORT --rate 100000 --hold 0` and the given options. */
const against = (port: number, o: Partial<MaxOptions> & { connections: number }) =>
  runMax({ targets: [{ host: '127.0.0.1', port }], rate: 100_000, holdMs: 0, ...o });

describe.skipIf(!haveServers)('max --target against real servers', () => {
  afterAll(async () => {
    expect(await stopServers()).toEqual([]);
  });

  it('Redis maxclients 2000: ~2000 alive, the wall named as its client cap, its -ERR quoted', async () => {
    const redis = await startRedis(2000);
    const r = await against(redis.port, {
      connections: 3000,
      holdMs: 500,
      probe: 'redis',
    });
    expect(r.alive).toBeGreaterThanOrEqual(1990);
    expect(r.alive).toBeLessThanOrEqual(2000);
    expect(r.dead).toBe(0);
    expect(r.unverified).toBe(0);
    // the connections Redis refused (closed at once) are not counted as held, nor as dead
    expect(r.established).toBe(r.alive);
    expect(r.stoppedBy.reason).toBe('wall');
    expect(r.stoppedBy.side).toBe('server');
    expect(r.stoppedBy.kind).toBe('closed-at-once');
    expect(r.stoppedBy.detail).toContain('the server stopped accepting at');
    expect(r.stoppedBy.detail).toContain('-ERR max number of clients reached');
    expect(r.stoppedBy.detail).toContain('maxclients');
    const refused = r.failuresByKind['closed-at-once']!;
    expect(refused.count).toBeGreaterThan(0);
    expect(refused.firstBytes).toBe('-ERR max number of clients reached\r\n');
    expect(r.probes.probe).toBe('redis');
    expect(r.sockstat.clean).toBe(true);
    // the report names the server's wall and quotes what it said
    const html = practiceSection(r, undefined).html;
    expect(html).toContain('Stopped by the server&#39;s wall');
    expect(html).toContain('What the server did');
    expect(html).toContain('<code>-ERR max number of clients reached\\r\\n</code>');
    expect(html).toContain('the redis probe');
  });

  it('Redis with room for them: all 3000 alive, PING answered +PONG on each, probed mid-hold too', async () => {
    const redis = await startRedis(4000);
    const r = await against(redis.port, {
      connections: 3000,
      holdMs: 1500,
      probe: 'redis',
      probeIntervalMs: 500,
    });
    expect(r.established).toBe(3000);
    expect(r.alive).toBe(3000);
    expect(r.dead).toBe(0);
    expect(r.stoppedBy.reason).toBe('target');
    expect(r.failuresByKind).toEqual({});
    expect(r.probes.rounds.length).toBeGreaterThanOrEqual(1);
    for (const round of r.probes.rounds) expect(round.alive).toBe(3000);
  });

  it('fourtuple max --probe: a wrong probe reads as wrong replies with the bytes the server sent; a bad one is refused', async () => {
    const redis = await startRedis(100);
    const target = `127.0.0.1:${redis.port}`;
    const common = ['max', '--target', target, '--connections', '20', '--rate', '100000'];
    const run = await cli([
      ...common,
      '--hold',
      '0',
      '--probe',
      'send:PING\\r\\n,expect:+PANG',
      '--json',
    ]);
    expect(run.code).toBe(1);
    const r = JSON.parse(run.stdout) as MaxResult;
    expect(r.alive).toBe(0);
    expect(r.dead).toBe(20);
    expect(r.probes.probe).toBe('send:PING\\r\\n,expect:+PANG');
    expect(r.failuresByKind['wrong-reply']).toMatchObject({ count: 20, firstBytes: '+PONG\r\n' });

    const bad = await cli([...common, '--probe', 'ping']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      '--probe ping: expected echo, none, redis, http or send:DATA,expect:PREFIX',
    );
  });

  it('nginx worker_connections 1024: --probe http passes for a run that fits, a run past it names the cap', async () => {
    const nginx = await startNginx(1024);
    const fits = await against(nginx.port, { connections: 500, probe: 'http' });
    expect(fits.alive).toBe(500);
    expect(fits.dead).toBe(0);
    expect(fits.stoppedBy.reason).toBe('target');

    const past = await against(nginx.port, { connections: 1500, probe: 'http' });
    expect(past.stoppedBy.side).toBe('server');
    expect(past.stoppedBy.kind).toBe('closed-at-once');
    expect(past.stoppedBy.detail).toContain('worker_connections');
    // nginx holds at most worker_connections (its listener among them)
    expect(past.alive).toBeLessThan(1024);
    expect(past.alive).toBeGreaterThan(800);
    expect(past.sockstat.clean).toBe(true);
  });

  it('a listener with backlog 4 that never accepts: connects time out, the wall is its accept backlog', async () => {
    const listener = await startBacklogListener(4);
    const r = await against(listener.port, {
      connections: 200,
      probe: 'none',
      connectTimeoutMs: 1500,
    });
    // the accept queue holds backlog + 1 completed connections; the rest get no SYN-ACK
    expect(r.established).toBe(5);
    expect(r.alive).toBe(5);
    expect(r.stoppedBy.side).toBe('server');
    expect(r.stoppedBy.kind).toBe('connect-timeout');
    expect(r.stoppedBy.errno).toBe('ETIMEDOUT');
    expect(r.stoppedBy.detail).toContain('somaxconn');
    expect(r.stoppedBy.listenQueue).toMatchObject({ queued: 5, backlog: 4 });
    expect(r.failuresByKind['connect-timeout']!.count).toBeGreaterThan(0);
  });

  it('--probe-interval: connections a server closes mid-hold are dead, counted when they died', async () => {
    const server = await startClosingListener(1200);
    const r = await against(server.port, {
      connections: 300,
      holdMs: 3000,
      probe: 'none',
      probeIntervalMs: 400,
    });
    expect(r.established).toBe(300);
    expect(r.alive).toBe(0);
    expect(r.dead).toBe(300);
    expect(r.unverified).toBe(0);
    expect(r.failuresByKind.closed?.count).toBe(300);
    const rounds = r.probes.rounds;
    expect(rounds.reduce((n, x) => n + x.died, 0)).toBe(300);
    // alive in the rounds before the server closed them, dead from the round after
    const died = rounds.find((x) => x.died > 0)!;
    expect(died.tMs).toBeGreaterThanOrEqual(1000);
    expect(rounds[0]!.alive).toBe(300);
  });

  it('memcached -c 500: its version answered on each held connection, the cap named with its ERROR line', async () => {
    const mc = await startMemcached(500);
    const r = await against(mc.port, {
      connections: 800,
      probe: 'send:version\\r\\n,expect:VERSION',
    });
    // memcached counts its own descriptors (listener, pipes) in -c
    expect(r.alive).toBeGreaterThan(400);
    expect(r.alive).toBeLessThan(500);
    expect(r.dead).toBe(0);
    expect(r.stoppedBy.side).toBe('server');
    expect(r.stoppedBy.kind).toBe('closed-at-once');
    expect(r.failuresByKind['closed-at-once']!.firstBytes).toBe(
      'ERROR Too many open connections\r\n',
    );
    expect(r.stoppedBy.detail).toContain('memcached `-c`');
  });

  it('a server that closes connections while the ramp opens them stops the ramp: its wall, not a churn', async () => {
    const server = await startIdleTimeoutListener(1500);
    const r = await against(server.port, {
      connections: 1000,
      rate: 200,
      probe: 'none',
      durationMs: 8000,
    });
    expect(r.stoppedBy.reason).toBe('wall');
    expect(r.stoppedBy.side).toBe('server');
    expect(r.stoppedBy.kind).toBe('closed');
    expect(r.stoppedBy.detail).toContain('the server closed connections after');
    // stopped about 1.5 s into a 5 s ramp, not at --duration after replacing them for 8 s
    expect(r.timing.rampMs).toBeLessThan(4000);
    expect(r.established).toBeLessThan(1000);
  });
});

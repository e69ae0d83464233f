/**
 * max --port-strategy on the real kernel: each strategy opens 5,000 connections, all alive and
 * clean, and the source addresses and ports the kernel shows in /proc/net/tcp follow it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ephemeralPortRange } from '../../src/limits/procfs.js';
import { runMax } from '../../src/scale/coordinator.js';
import { type PortStrategy, rangeSlice } from '../../src/scale/ports.js';
import { descendants, listeningPorts, socketInodes } from '../helpers/procs.js';

interface Entry {
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
  state: number;
  inode: string;
}

/** "0100007F:1F90" (little-endian IPv4, port in hex) to ['127.0.0.1', 8080]. */
function endpoint(text: string): [string, number] {
  const [a, p] = text.split(':') as [string, string];
  const n = Number.parseInt(a, 16);
  return [[n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24].join('.'), Number.parseInt(p, 16)];
}

function tcp4(): Entry[] {
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 4)
    .map((f) => {
      const [local, localPort] = endpoint(f[1]!);
      const [remote, remotePort] = endpoint(f[2]!);
      const state = Number.parseInt(f[3]!, 16);
      return { local, localPort, remote, remotePort, state, inode: f[9]! };
    });
}

const ESTABLISHED = 0x01;

/** Runs max with `strategy`: the result, and its client sockets once all 5,000 were up. */
async function run(strategy: PortStrategy) {
  let clients: Entry[] = [];
  const r = await runMax(
    { connections: 5000, holdMs: 1500, portStrategy: strategy, verifyTimeoutMs: 20_000 },
    (p) => {
      if (p.established < 5000 || clients.length) return;
      // this run's client sockets: connected to a port its workers listen on, and held by its
      // own worker processes (by inode, once each: another program's sockets can share
      // addresses and ports with ours, and a read of /proc/net/tcp while sockets come and go
      // can show one twice)
      const pids = descendants(process.pid).map((d) => d.pid);
      const ports = new Set(listeningPorts(pids));
      const ours = socketInodes(pids);
      const seen = new Set<string>();
      clients = tcp4().filter((e) => {
        if (e.state !== ESTABLISHED || !ours.has(e.inode) || seen.has(e.inode)) return false;
        seen.add(e.inode);
        return e.remote === '127.0.0.1' && ports.has(e.remotePort);
      });
    },
  );
  return { r, clients };
}

/** 127.64.0.0/10: the workers' own source addresses. */
const isWorkerIp = (ip: string): boolean => {
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return a === 127 && b >= 64 && b < 128;
};

function expectAllAlive(r: Awaited<ReturnType<typeof runMax>>, strategy: PortStrategy): void {
  expect(r.portStrategy).toBe(strategy);
  expect(r.established).toBe(5000);
  expect(r.alive).toBe(5000);
  expect(r.dead).toBe(0);
  expect(r.sockstat.clean).toBe(true);
}

describe('max --port-strategy', { timeout: 60_000 }, () => {
  it('kernel: every connection comes from 127.0.0.1 with a port the kernel chose', async () => {
    const { r, clients } = await run('kernel');
    expectAllAlive(r, 'kernel');
    expect(clients).toHaveLength(5000);
    expect(new Set(clients.map((c) => c.local))).toEqual(new Set(['127.0.0.1']));
  });

  it('bind-no-port: each worker connects from its own 127.64.0.0/10 address', async () => {
    const { r, clients } = await run('bind-no-port');
    expectAllAlive(r, 'bind-no-port');
    expect(clients).toHaveLength(5000);
    expect(clients.every((c) => isWorkerIp(c.local))).toBe(true);
    // one source address per worker, and a worker's connections all share it
    expect(new Set(clients.map((c) => c.local)).size).toBe(r.workers);
    const addressOf = new Map<number, Set<string>>();
    for (const c of clients) {
      addressOf.set(c.remotePort, (addressOf.get(c.remotePort) ?? new Set()).add(c.local));
    }
    for (const a of addressOf.values()) expect(a.size).toBe(1);
  });

  it('pick: each worker uses the ports it chose, in order from the bottom of the range', async () => {
    const range = ephemeralPortRange();
    const { r, clients } = await run('pick');
    expectAllAlive(r, 'pick');
    expect(clients).toHaveLength(5000);
    expect(clients.every((c) => isWorkerIp(c.local))).toBe(true);
    const byAddress = new Map<string, number[]>();
    for (const c of clients)
      byAddress.set(c.local, [...(byAddress.get(c.local) ?? []), c.localPort]);
    for (const ports of byAddress.values()) {
      ports.sort((a, b) => a - b);
      expect(new Set(ports).size).toBe(ports.length);
      expect(ports[0]).toBe(range.low);
      // consecutive, but for a port some other socket held (a wildcard listener): a few skipped
      expect(ports[ports.length - 1]!).toBeLessThan(range.low + ports.length + 16);
    }
  });

  it('ip-local-port-range: each worker connects from ports inside its slice', async () => {
    const [major = 0, minor = 0] = (
      readFileSync('/proc/sys/kernel/osrelease', 'utf8').match(/\d+/g) ?? []
    ).map(Number);
    if (major < 6 || (major === 6 && minor < 3)) return; // IP_LOCAL_PORT_RANGE is Linux 6.3+
    const range = ephemeralPortRange();
    const slices = [rangeSlice(0, range), rangeSlice(1, range)];
    const { r, clients } = await run('ip-local-port-range');
    expectAllAlive(r, 'ip-local-port-range');
    expect(clients).toHaveLength(5000);
    const byWorker = new Map<number, number[]>();
    for (const c of clients) {
      byWorker.set(c.remotePort, [...(byWorker.get(c.remotePort) ?? []), c.localPort]);
    }
    for (const ports of byWorker.values()) {
      const inside = slices.filter((s) => ports.every((p) => p >= s.low && p <= s.high));
      expect(inside).toHaveLength(1);
    }
  });
});

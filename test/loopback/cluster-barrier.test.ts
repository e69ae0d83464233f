/**
 * The cluster barrier on loopback: every agent gets the same start at once, a duplicate index is
 * refused and named, a missing index times the barrier out promptly (nothing hangs), and an agent
 * that goes away before its result is counted as lost.
 */
import { describe, expect, it } from 'vitest';
import { joinBarrier, type Registration, startCoordinator } from '../../src/cluster/barrier.js';

function reg(index: number, pod = `ft-${index}`): Registration {
  return {
    index,
    pod,
    node: 'n1',
    source: '127.0.0.1',
    limits: { nofile: 20000, portRange: '32768 60999', cgroupMemory: undefined },
  };
}

const join = (port: number, r: Registration, timeoutMs = 5000) =>
  joinBarrier({ host: '127.0.0.1', port, registration: r, timeoutMs });

describe('cluster barrier', () => {
  it('releases every agent with one common start once all indexes are in, and collects results', async () => {
    const c = await startCoordinator({ host: '127.0.0.1', port: 0, agents: 4, timeoutMs: 5000 });
    try {
      const links = await Promise.all([3, 1, 0, 2].map((i) => join(c.port, reg(i))));
      const b = await c.barrier;
      expect(b.missing).toEqual([]);
      expect(b.registered.map((g) => g.index)).toEqual([0, 1, 2, 3]);
      expect(new Set(links.map((l) => l.startAt))).toEqual(new Set([b.startAt]));
      expect(b.startAt!).toBeGreaterThan(Date.now() - 1000);
      await Promise.all(links.map((l, k) => l.sendResult({ n: k })));
      await c.done;
      expect([...c.results.keys()].sort()).toEqual([0, 1, 2, 3]);
      expect(c.lost.size).toBe(0);
      for (const l of links) l.close();
    } finally {
      await c.close();
    }
  });

  it('refuses a second registration of an index and names the pod that holds it', async () => {
    const c = await startCoordinator({ host: '127.0.0.1', port: 0, agents: 2, timeoutMs: 5000 });
    try {
      const first = join(c.port, reg(0, 'ft-0-a'));
      await new Promise((r) => setTimeout(r, 100));
      await expect(join(c.port, reg(0, 'ft-0-b'))).rejects.toThrow(
        /index 0 is already registered by ft-0-a/,
      );
      const second = await join(c.port, reg(1));
      const b = await c.barrier;
      expect(b.duplicates.map((d) => d.pod)).toEqual(['ft-0-b']);
      (await first).close();
      second.close();
    } finally {
      await c.close();
    }
  });

  it('a missing index times the barrier out: the missing are named and the waiting agents told at once', async () => {
    const c = await startCoordinator({ host: '127.0.0.1', port: 0, agents: 3, timeoutMs: 300 });
    try {
      const t0 = Date.now();
      const waiting = [join(c.port, reg(0)), join(c.port, reg(2))];
      const b = await c.barrier;
      expect(b.startAt).toBeUndefined();
      expect(b.missing).toEqual([1]);
      for (const w of waiting)
        await expect(w).rejects.toThrow(/barrier timed out .* index 1 missing/);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      await c.close();
    }
  });

  it('an agent whose control connection closes before its result is lost, and named', async () => {
    const c = await startCoordinator({ host: '127.0.0.1', port: 0, agents: 2, timeoutMs: 5000 });
    try {
      const [a, b] = await Promise.all([join(c.port, reg(0)), join(c.port, reg(1))]);
      await a.sendResult({ ok: true });
      b.close();
      await c.done;
      expect([...c.lost.keys()]).toEqual([1]);
      expect(c.results.has(0)).toBe(true);
      a.close();
    } finally {
      await c.close();
    }
  });

  it('an agent with no coordinator fails with the reason instead of hanging', async () => {
    const c = await startCoordinator({ host: '127.0.0.1', port: 0, agents: 1, timeoutMs: 5000 });
    const port = c.port;
    await c.close();
    await expect(join(port, reg(0), 1000)).rejects.toThrow(/ECONNREFUSED/);
  });
});

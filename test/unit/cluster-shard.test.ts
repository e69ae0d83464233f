/** Each agent's share of a cluster plan: a pure function of (plan, index, agents). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ClusterPlan, shardAll, shardOf } from '../../src/cluster/shard.js';
import { InvalidOptionError } from '../../src/errors.js';

const plan = fc.record({
  targets: fc.array(
    fc.integer({ min: 1, max: 65535 }).map((p) => `127.0.0.1:${p}`),
    { minLength: 1, maxLength: 6 },
  ),
  connections: fc.integer({ min: 0, max: 10_000_000 }),
  rate: fc.integer({ min: 0, max: 1_000_000 }),
  holdMs: fc.integer({ min: 0, max: 3_600_000 }),
});
const agents = fc.integer({ min: 1, max: 300 });

describe('cluster shards', () => {
  it('shards sum to the plan, differ by at most one, and the larger ones have the lowest indexes', () => {
    fc.assert(
      fc.property(plan, agents, (p: ClusterPlan, n) => {
        const all = shardAll(p, n);
        expect(all.reduce((s, x) => s + x.connections, 0)).toBe(p.connections);
        expect(all.reduce((s, x) => s + x.rate, 0)).toBe(p.rate);
        for (let i = 1; i < n; i++) {
          expect(all[i - 1]!.connections - all[i]!.connections).toBeGreaterThanOrEqual(0);
          expect(all[0]!.connections - all[i]!.connections).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it('one agent is the plain plan', () => {
    fc.assert(
      fc.property(plan, (p: ClusterPlan) => {
        const s = shardOf(p, 0, 1);
        expect(s).toEqual({ index: 0, agents: 1, ...p });
      }),
    );
  });

  it('targets are rotated by index, each a permutation of the plan', () => {
    const p = { targets: ['a:1', 'b:2', 'c:3'], connections: 10, rate: 0, holdMs: 0 };
    expect(shardAll(p, 4).map((s) => s.targets[0])).toEqual(['a:1', 'b:2', 'c:3', 'a:1']);
    fc.assert(
      fc.property(plan, agents, (q: ClusterPlan, n) => {
        for (const s of shardAll(q, n))
          expect([...s.targets].sort()).toEqual([...q.targets].sort());
      }),
    );
  });

  it('an index outside 0..agents-1 or a bad agent count is refused by field name', () => {
    const p = { targets: ['a:1'], connections: 1, rate: 0, holdMs: 0 };
    expect(() => shardOf(p, 3, 3)).toThrow(InvalidOptionError);
    expect(() => shardOf(p, 3, 3)).toThrow('index must be an integer from 0 to 2 (got 3)');
    expect(() => shardOf(p, 0, 0)).toThrow('agents must be an integer from 1 to 100000 (got 0)');
  });
});

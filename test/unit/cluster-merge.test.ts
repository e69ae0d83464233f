/** Merging agent results: roster, totals, the common hold window, and the verdict. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AgentResult,
  commonWindow,
  mergeAgents,
  parseAgentLines,
} from '../../src/cluster/merge.js';

const T0 = 1_790_000_000_000;

function agent(index: number, over: Partial<AgentResult> = {}): AgentResult {
  return {
    kind: 'agent',
    version: 1,
    index,
    agents: 4,
    pod: `ft-run-${index}-x`,
    node: `node-${index}`,
    source: `198.18.0.${10 + index}`,
    startAt: T0,
    holdStart: T0 + 1000 + index,
    holdEnd: T0 + 31_000,
    established: 900,
    alive: 900,
    dead: 0,
    unverified: 0,
    failures: {},
    stoppedBy: 'target',
    reached: true,
    ...over,
  };
}

describe('merge of agent results', () => {
  it('a complete roster sums every agent over the common window and reports the start skew', () => {
    const m = mergeAgents([0, 1, 2, 3].map((i) => agent(i)));
    expect(m.verdict).toBe('complete');
    expect(m.roster).toEqual({
      expected: 4,
      present: [0, 1, 2, 3],
      missing: [],
      failed: [],
      duplicate: [],
    });
    expect(m.totals.established).toBe(3600);
    expect(m.aliveInWindow).toBe(3600);
    expect(m.window).toEqual({ start: T0 + 1003, end: T0 + 31_000 });
    expect(m.startSkewMs).toBe(3);
  });

  it('the start skew is that of the first connects, not of the hold starts (each ramp takes its own time)', () => {
    const m = mergeAgents(
      [0, 1, 2, 3].map((i) =>
        agent(i, { rampStart: T0 + 500 + i * 2, holdStart: T0 + 1000 + i * 700 }),
      ),
    );
    expect(m.startSkewMs).toBe(6);
  });

  it('a missing index makes it partial and is named; the others are still summed', () => {
    const m = mergeAgents([0, 1, 3].map((i) => agent(i)));
    expect(m.verdict).toBe('partial');
    expect(m.roster.missing).toEqual([2]);
    expect(m.aliveInWindow).toBe(2700);
  });

  it('an agent killed before the others held is left out of the window and named', () => {
    const killed = agent(1, { holdStart: T0 + 1001, holdEnd: T0 + 900, alive: 0 });
    const late = agent(3, { holdStart: T0 + 40_000, holdEnd: T0 + 50_000 });
    const m = mergeAgents([agent(0), killed, agent(2), late]);
    expect(m.verdict).toBe('partial');
    expect(m.outsideWindow).toEqual([1, 3]);
    expect(m.aliveInWindow).toBe(1800);
  });

  it('two results for one index are a duplicate, counted once', () => {
    const m = mergeAgents([
      agent(0),
      agent(1),
      agent(1, { pod: 'ft-run-1-y' }),
      agent(2),
      agent(3),
    ]);
    expect(m.roster.duplicate).toEqual([1]);
    expect(m.verdict).toBe('partial');
    expect(m.agents.map((a) => a.pod)).toContain('ft-run-1-x');
    expect(m.totals.established).toBe(3600);
  });

  it('reads agent lines behind kubectl prefixes and skips everything else', () => {
    const text = [
      '[pod/ft-run-0-abc/agent] progress: 10%',
      `[pod/ft-run-0-abc/agent] ${JSON.stringify(agent(0))}`,
      JSON.stringify(agent(1)),
      '{"kind":"max","version":1}',
      'not json {',
    ].join('\n');
    expect(parseAgentLines(text).map((a) => a.index)).toEqual([0, 1]);
  });

  it('when every hold shares a moment, every agent is summed (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            before: fc.integer({ min: 0, max: 10_000 }),
            after: fc.integer({ min: 1, max: 10_000 }),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        (spans) => {
          const holds = spans.map((s) => ({ holdStart: T0 - s.before, holdEnd: T0 + s.after }));
          const w = commonWindow(holds)!;
          expect(w.start).toBeLessThanOrEqual(T0);
          expect(w.end).toBeGreaterThan(T0);
          for (const h of holds) expect(h.holdStart <= w.start && h.holdEnd >= w.end).toBe(true);
        },
      ),
    );
  });
});

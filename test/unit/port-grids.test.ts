/** The report's port-rule grids: the bind matrix cell by cell, a miss marked, a skip shown. */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/experiments/index.js';
import type { ExperimentResult } from '../../src/experiments/types.js';
import { rangeAgreement } from '../../src/experiments/verdict.js';
import { portGrids } from '../../src/report/sections/port-grids.js';
import type { ExperimentInput } from '../../src/report/types.js';

/** A result that did what its catalogue entry predicted (or `observed` instead). */
function result(name: string, observed?: Record<string, string>): ExperimentInput {
  const e = CATALOGUE.find((x) => x.name === name)!;
  const outcomes = observed ?? e.prediction.outcomes;
  const r: ExperimentResult = {
    name,
    ...(e.of ? { of: e.of } : {}),
    summary: e.summary,
    hosts: 'netns',
    family: 4,
    variant: e.variant,
    topology: [],
    predicted: e.prediction,
    predictionText: e.predictionText,
    steps: [],
    observed: { established: 0, outcomes, sourcePorts: {} },
    established: 0,
    matches: observed === undefined,
    explanation: e.explanation,
    ports: [],
    durationMs: 0,
  };
  return r as ExperimentInput;
}

describe('the bind matrix grid', () => {
  const matrix = CATALOGUE.filter((e) => e.of === 'exhausted-bind' && e.world?.via === 'sysctl');

  it('shows 16 cells per ip_autobind_reuse value, the three shares among them', () => {
    const html = portGrids(matrix.map((e) => result(e.name)));
    expect(html).toContain('3 of 32 second binds share the one port');
    expect(html.match(/badge good/g)).toHaveLength(3);
    expect(html.match(/badge warn/g)).toHaveLength(29);
    expect(html).toContain('net.ipv4.ip_autobind_reuse=0');
    expect(html).toContain('net.ipv4.ip_autobind_reuse=1');
    expect(html).not.toContain('IP_LOCAL_PORT_RANGE narrowed'); // the per-socket one did not run
  });

  it('marks a missed prediction with what was predicted, and a skipped run as skipped', () => {
    const records = matrix.map((e) =>
      e.name === 'exhausted-bind-ra-ra-autobind1'
        ? result(e.name, { B1: 'ok', B2: 'bind EADDRINUSE' })
        : result(e.name),
    );
    const skipped = { ...records[0]!, skipped: 'not root' };
    const html = portGrids([skipped, ...records.slice(1)]);
    expect(html).toContain('EADDRINUSE \u2717 predicted ok');
    expect(html.match(/badge bad/g)).toHaveLength(1);
    expect(html).toMatch(/badge neutral[^>]*>skipped/);
  });

  it('says whether the per-socket range agrees with the namespace', () => {
    const both = CATALOGUE.filter((e) => e.of === 'exhausted-bind').map((e) => result(e.name));
    expect(portGrids(both)).toContain('agree on 32 of 32 cells');
  });

  it('draws nothing when no port-rule family ran', () => {
    expect(portGrids([result('diff-port')])).toBe('');
  });
});

describe('rangeAgreement', () => {
  const twin = (name: string, outcomes: Record<string, string>, skipped?: string) =>
    ({
      ...(result('exhausted-bind-ra-ra-autobind1') as ExperimentResult),
      name,
      observed: { established: 0, outcomes, sourcePorts: {} },
      ...(skipped ? { skipped } : {}),
    }) as ExperimentResult;

  it('counts the pairs that saw the same, names the ones that did not, ignores skips', () => {
    const ok = { B1: 'ok', B2: 'ok' };
    const refused = { B1: 'ok', B2: 'bind EADDRINUSE' };
    expect(
      rangeAgreement([
        twin('a', ok),
        twin('a-sockopt', ok),
        twin('b', ok),
        twin('b-sockopt', refused),
        twin('c', ok),
        twin('c-sockopt', ok, 'no IP_LOCAL_PORT_RANGE'),
      ]),
    ).toEqual({ agree: 1, of: 2, differ: ['b'] });
    expect(rangeAgreement([twin('a', ok)])).toBeUndefined();
  });
});

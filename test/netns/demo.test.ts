/**
 * `fourtuple demo --hosts netns`: the multi-IP experiments across separate network stacks. Root
 * only: skipped when this process may not create namespaces; under CI=true as root it must run
 * (describeNetns).
 */
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { runExperiments } from '../../src/experiments/index.js';
import { parseNetnsList } from '../../src/hosts/index.js';
import { cli } from '../helpers/cli.js';
import { describeNetns } from '../helpers/netns.js';

function namespaces(): Set<string> {
  return new Set(parseNetnsList(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })));
}

describeNetns('fourtuple demo --hosts netns', () => {
  it('runs diff-ip and diff-source-ip (and variants) on three machines, then removes them', async () => {
    const r = await runExperiments({
      names: [
        'diff-ip',
        'diff-ip-no-reuseaddr',
        'diff-source-ip',
        'diff-source-ip-no-reuseaddr',
        'self-connect',
      ],
      hosts: 'netns',
    });
    const by = Object.fromEntries(r.experiments.map((e) => [e.name, e]));
    for (const n of [
      'diff-ip',
      'diff-ip-no-reuseaddr',
      'diff-source-ip',
      'diff-source-ip-no-reuseaddr',
    ]) {
      expect(by[n]!.hosts, n).toBe('netns');
      // every address is a lab machine's, none is loopback
      for (const s of by[n]!.steps) {
        for (const a of [s.from, s.to]) if (a) expect(a, n).toMatch(/^198\.18\.0\.[123]:\d+$/);
      }
    }
    expect(by['self-connect']!.hosts).toBe('loopback');
    expect(by['diff-ip']!.observed).toMatchObject({
      established: 2,
      outcomes: { L1: 'ok', L2: 'ok', C1: 'ok', C2: 'ok' },
    });
    expect(by['diff-ip-no-reuseaddr']!.observed.outcomes.C2).toBe('bind EADDRINUSE');
    expect(by['diff-source-ip']!.established).toBe(2);
    expect(by['diff-source-ip-no-reuseaddr']!.established).toBe(2);
    expect(r.summary.differed).toEqual([]);
    expect(r.summary.hosts).toBe('netns');
    // the lab's namespaces are gone
    const runId = r.summary.lab?.runId;
    expect(runId).toMatch(/^[a-z0-9]+$/);
    expect([...namespaces()].filter((n) => n.startsWith(`ft-${runId}-`))).toEqual([]);
  });

  it('`fourtuple demo diff-ip --hosts netns` exits 0', async () => {
    const r = await cli(['demo', 'diff-ip', '--hosts', 'netns']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/198\.18\.0\.2:\d+/);
    expect(r.stdout).toMatch(/\(network namespaces\)/);
  });
});

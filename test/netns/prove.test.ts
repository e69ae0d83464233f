/**
 * `fourtuple prove --hosts netns`: machines are network namespaces, each with its own TCP stack,
 * joined by a bridge. Root only: skipped when this process may not create namespaces (the skip
 * names the reason); under CI=true as root it must run (describeNetns).
 */
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { parseLinkNames, parseNetnsList } from '../../src/hosts/index.js';
import { prove } from '../../src/proof/prove.js';
import { openDescriptors } from '../../src/sockets/rlimit.js';
import { cli } from '../helpers/cli.js';
import { describeNetns } from '../helpers/netns.js';

/** Namespaces and root-namespace links of run `runId` that still exist. */
function leftovers(runId: string): string[] {
  const ns = parseNetnsList(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }));
  const links = parseLinkNames(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }));
  return [...ns, ...links].filter((n) => n.startsWith(`ft-${runId}-`));
}

describeNetns('prove --hosts netns', () => {
  it('3 machines x 2 ports: 21 connections across three network stacks, then nothing left', async () => {
    const before = openDescriptors();
    const r = await prove({ machines: 3, ports: 2, hosts: 'netns' });
    expect(r.hosts).toBe('netns');
    expect(r.machineList.map((m) => m.address)).toEqual(['198.18.0.1', '198.18.0.2', '198.18.0.3']);
    for (const m of r.machineList) expect(m.netns).toBe(`ft-${r.runId}-${m.name}`);
    expect(r.established).toBe(21n);
    expect(r.accepted).toBe(15n);
    expect(r.selfConnections).toBe(6n);
    expect(r.betweenMachines).toBe(12n);
    expect(r.distinctTuples).toBe(true);
    expect(r.attempts.reverse.refused).toEqual({ EADDRNOTAVAIL: 15 });
    expect(r.attempts.duplicate.refused).toEqual({ EADDRNOTAVAIL: 21 });
    expect(r.attemptsSucceeded).toBe(0);
    expect(r.verdict).toBe('exact');
    for (const c of r.connections!) {
      expect(c.a).toMatch(/^198\.18\.0\.[123]:\d+$/);
      expect(c.b).toMatch(/^198\.18\.0\.[123]:\d+$/);
    }
    expect(leftovers(r.runId)).toEqual([]);
    expect(openDescriptors()).toBe(before);
  });

  it('64 machines x 2 ports (N = 128): past the shared ARP table limit, still exact', async () => {
    const r = await prove({ machines: 64, ports: 2, hosts: 'netns' });
    expect(r.established).toBe(8256n);
    expect(r.connectFailures, `timings: ${JSON.stringify(r.timings)}`).toEqual({});
    expect(r.verdict).toBe('exact');
    expect(leftovers(r.runId)).toEqual([]);
  });

  it('an abort midway removes the namespaces', async () => {
    const ac = new AbortController();
    let runId = '';
    const err = await prove({
      machines: 4,
      ports: 4,
      hosts: 'netns',
      signal: ac.signal,
      listConnections: true,
      onProgress: (p) => {
        if (p.phase === 'listen') {
          runId = listOurs()[0] ?? '';
          ac.abort();
        }
      },
    }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(runId).toMatch(/^[0-9a-z]{6}$/);
    expect(leftovers(runId)).toEqual([]);
  });

  it('`fourtuple prove --hosts netns --json` exits 0 with the exact verdict', async () => {
    const r = await cli(['prove', '--machines', '3', '--ports', '2', '--hosts', 'netns', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ hosts: 'netns', established: '21', verdict: 'exact' });
    expect(leftovers(j.runId)).toEqual([]);
  });
});

/** Run ids of our namespaces that exist now, from `ip netns list`. */
function listOurs(): string[] {
  const ns = parseNetnsList(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }));
  return [...new Set(ns.flatMap((n) => /^ft-([0-9a-z]{6})-m\d+$/.exec(n)?.[1] ?? []))];
}

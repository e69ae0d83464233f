/**
 * Two agents of a cluster run on loopback (in this process, each with its own max workers) against
 * an echo listener: the barrier starts them together, agent 0 merges, and the merged result is
 * read back by `fourtuple merge` and rendered by `fourtuple report`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentRun, runAgent } from '../../src/cluster/agent.js';
import { type Listener, startListener } from '../../src/endpoints/listener.js';
import { cli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'fourtuple-cluster-'));
let listener: Listener;
let runs: AgentRun[];

beforeAll(async () => {
  listener = await startListener({ host: '127.0.0.1', port: 0, backlog: 4096 });
  const plan = {
    targets: [`127.0.0.1:${listener.local.port}`],
    connections: 2001,
    rate: 0,
    holdMs: 1500,
  };
  const coordinator = { host: '127.0.0.1', port: await freePort() };
  runs = await Promise.all(
    [0, 1].map((index) =>
      runAgent({
        plan,
        index,
        agents: 2,
        coordinator,
        listenHost: '127.0.0.1',
        // each agent boots its workers before it joins: on a machine loaded by other runs
        // that can take many seconds, and the barrier waits for the slower one
        barrierTimeoutMs: 45_000,
      }),
    ),
  );
}, 120_000);
afterAll(async () => {
  await listener?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('cluster agents on loopback', () => {
  it('split 2,001 connections 1,001 / 1,000, start together, and agent 0 merges both: complete', () => {
    const [a0, a1] = runs as [AgentRun, AgentRun];
    // on failure, say why (an agent's error, its stop reason) rather than only the counts
    const why = JSON.stringify(runs.map((r) => [r.agent.error, r.agent.stoppedBy]));
    expect([a0.agent.established, a1.agent.established], why).toEqual([1001, 1000]);
    expect(a0.agent.startAt).toBe(a1.agent.startAt);
    expect(a1.merged).toBeUndefined();
    const m = a0.merged!;
    expect(m).toMatchObject({ kind: 'merge', verdict: 'complete', aliveInWindow: 2001 });
    expect(m.roster).toMatchObject({ present: [0, 1], missing: [], duplicate: [] });
    expect(listener.stats.accepted).toBeGreaterThanOrEqual(2001);
  });

  it("`fourtuple merge` reads the agents' lines (prefixed like kubectl logs --prefix) to the same totals, and names a duplicate", async () => {
    const lines = runs
      .map((r, i) => `[pod/ft-${i}-abc/agent] ${JSON.stringify(r.agent)}`)
      .join('\n');
    const f = join(dir, 'agents.log');
    writeFileSync(f, `progress...\n${lines}\n`);
    const r = await cli(['merge', f, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'complete', aliveInWindow: 2001 });
    const dup = join(dir, 'dup.log');
    writeFileSync(dup, `${lines}\n${JSON.stringify({ ...runs[1]!.agent, pod: 'ft-1-other' })}\n`);
    const d = await cli(['merge', dup]);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain('duplicate 1');
    expect(d.stdout).toContain('verdict: partial');
  });

  it('`fourtuple report` renders the merged result: the roster, the agents, the skew', async () => {
    const f = join(dir, 'merged.json');
    writeFileSync(f, JSON.stringify(runs[0]!.merged));
    const r = await cli(['report', f, '-o', join(dir, 'merged.html')]);
    expect(r.code, r.stderr).toBe(0);
    const page = readFileSync(join(dir, 'merged.html'), 'utf8');
    expect(page).toContain('Cluster: every agent at once');
    expect(page).toContain('2 of 2 agents reported');
    expect(page).toMatch(/<td>1<\/td><td>agent-1<\/td>/);
    expect(page).toContain('2,001');
  });
});

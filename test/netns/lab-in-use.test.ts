/**
 * A kept lab with processes inside its namespaces is in use (issue 18, item 4): `cleanup` and
 * `hosts down` leave it and say so, unless --force.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, afterEach, expect, it } from 'vitest';
import { destroyLab, type LabInfo, NETNS_DIR } from '../../src/hosts/index.js';
import { cliProcess } from '../helpers/cli.js';
import { describeNetns } from '../helpers/netns.js';

const created = new Set<string>();
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
});
afterAll(async () => {
  for (const id of created) await destroyLab(id).catch(() => {});
});

/** A kept lab, as `hosts up` leaves it (its creating process has exited). */
function keptLab(machines: number): LabInfo {
  const r = cliProcess(['hosts', 'up', '--machines', String(machines), '--json']);
  expect(r.code, r.stderr).toBe(0);
  const lab = JSON.parse(r.stdout) as LabInfo;
  created.add(lab.runId);
  return lab;
}

/** `sleep` inside a namespace, as a user's `ip netns exec NS ...` would be. */
async function inside(netns: string): Promise<ChildProcess> {
  const c = spawn('ip', ['netns', 'exec', netns, 'sleep', '60'], { stdio: 'ignore' });
  children.add(c);
  await new Promise((r) => setTimeout(r, 200));
  return c;
}

const exists = (netns: string): boolean => existsSync(`${NETNS_DIR}/${netns}`);

describeNetns('a lab in use is never removed', () => {
  it('cleanup and hosts down leave a lab with a process inside, and say so; --force removes it', async () => {
    const lab = keptLab(2);
    const ns = lab.machines[1]!.netns!;
    const sleeper = await inside(ns);

    const human = cliProcess(['cleanup']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(
      `left alone, in use: lab ${lab.runId} has pid ${sleeper.pid} (sleep) in ${ns} (--force removes it anyway)`,
    );
    const json = cliProcess(['cleanup', '--json']);
    const r = JSON.parse(json.stdout);
    expect(r.removed.filter((x: { runId: string }) => x.runId === lab.runId)).toEqual([]);
    expect(r.occupied.map((l: { runId: string }) => l.runId)).toContain(lab.runId);
    expect(exists(ns)).toBe(true);

    const down = cliProcess(['hosts', 'down', '--run', lab.runId]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`lab ${lab.runId} is in use, left as it is: pid ${sleeper.pid}`);
    const downAll = cliProcess(['hosts', 'down']);
    expect(downAll.code).toBe(0);
    expect(downAll.stdout).toContain(`left alone, in use: lab ${lab.runId}`);
    expect(exists(ns)).toBe(true);
    expect(sleeper.exitCode).toBe(null);

    const forced = cliProcess(['cleanup', '--force', '--json']);
    expect(forced.code).toBe(0);
    const removed = JSON.parse(forced.stdout).removed.map((x: { name: string }) => x.name);
    expect(removed).toContain(ns);
    expect(exists(ns)).toBe(false);
  });

  it('hosts down --run --force removes a lab with a process inside', async () => {
    const lab = keptLab(1);
    const ns = lab.machines[0]!.netns!;
    await inside(ns);
    const r = cliProcess(['hosts', 'down', '--run', lab.runId, '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(exists(ns)).toBe(false);
  });
});

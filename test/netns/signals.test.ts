/**
 * SIGINT and SIGTERM in the middle of runs that build a network-namespace lab (`fourtuple
 * prove --hosts netns`, `fourtuple demo --hosts netns`), run as the built CLI: it exits 130 or
 * 143 within 5 s, says "interrupted", and leaves nothing of its lab (no namespace, veth or
 * bridge named ft-<runid>-..., no state file) and no process it started. Root only: skipped,
 * with the reason, when this process may not create namespaces; under CI=true as root they
 * must run.
 */
import { afterEach, expect, it } from 'vitest';
import { destroyLab, readState, stateFiles } from '../../src/hosts/index.js';
import { killAll, spawnCli } from '../helpers/child.js';
import { describeNetns } from '../helpers/netns.js';
import { freePortBlock } from '../helpers/ports.js';
import {
  fdCount,
  freeze,
  labLeftovers,
  socketsGone,
  stillRunning,
  thawWith,
  until,
  watchDescendants,
} from '../helpers/procs.js';
import { EXIT_BOUND_MS, interrupt, SIGNALS } from '../helpers/signals.js';

/** Run ids of labs this file's children made: removed after each test whatever happened. */
const created = new Set<string>();
afterEach(async () => {
  await killAll();
  for (const id of created) await destroyLab(id).catch(() => {});
  created.clear();
});

/** The run id of the lab `pid` owns, from its state file (no `ip` call: cheap to poll). */
function labOf(pid: number): string | undefined {
  return labsOf(pid)[0];
}

/** Every lab `pid` owns (a demo makes its own and, for the port rules, a one-port world). */
function labsOf(pid: number): string[] {
  const runIds = stateFiles().filter((id) => readState(id)?.pid === pid);
  for (const id of runIds) created.add(id);
  return runIds;
}

describeNetns('signals with netns labs', () => {
  it.each(SIGNALS)(
    'prove --hosts netns --machines 4 --ports 32, %s while connecting: exits %i within 5 s, the lab is gone',
    async (sig, code) => {
      const child = spawnCli(['prove', '--hosts', 'netns', '--machines', '4', '--ports', '32']);
      const watch = watchDescendants(child.pid);
      // the lab comes first, then 128 listeners and 8,256 connections (16,000 descriptors)
      await until('prove to hold 2,000 descriptors', () => fdCount(child.pid) >= 2000, {
        child,
        stepMs: 5,
      });
      const runId = labOf(child.pid);
      expect(runId, 'the lab of the running prove').toBeDefined();
      expect(labLeftovers(runId!).length).toBeGreaterThan(4); // 5 namespaces, state file
      const r = await interrupt(child, sig);
      const seen = watch.stop();
      const what = `prove netns 4x32 ${sig}: exited ${r.code} in ${r.ms} ms; ${seen.length} child processes seen`;
      expect(r.ms, what).toBeLessThan(EXIT_BOUND_MS);
      expect(r.code, what).toBe(code);
      expect(child.stderr()).toBe('fourtuple prove: interrupted\n');
      expect(child.lines.join('')).toBe('');
      expect(labLeftovers(runId!)).toEqual([]);
      expect(stillRunning(seen), 'processes it started').toEqual([]);
    },
  );

  it('demo --hosts netns, SIGINT while its lab is up: exits 130 within 5 s, the lab is gone', async () => {
    // The run takes well under a second: freeze it after its first experiment (the lab is
    // up by then: it is made first), make sure it is unfinished, queue SIGINT, let it go on.
    for (let attempt = 1; ; attempt++) {
      const base = freePortBlock(4, ['0.0.0.0', '127.0.0.1', '127.0.0.2', '::1']);
      const child = spawnCli(['demo', '--hosts', 'netns', '--base-port', String(base)]);
      const watch = watchDescendants(child.pid);
      await child.waitFor((l) => l.startsWith('== '), 20_000);
      await freeze(child);
      // the demo's lab, and the one-port world's when it has made it: every lab it owns
      const runIds = labsOf(child.pid);
      const finished = child.lines.some((l) => /experiments in \d+ ms/.test(l));
      if (finished || runIds.length === 0 || child.proc.exitCode !== null) {
        expect(attempt, 'the demo finished before it could be frozen, 5 times').toBeLessThan(5);
        process.kill(child.pid, 'SIGCONT');
        await child.exited;
        watch.stop();
        continue;
      }
      const leftovers = (): number => runIds.reduce((n, id) => n + labLeftovers(id).length, 0);
      expect(leftovers()).toBeGreaterThan(3); // the demo lab's 4 namespaces and state file
      const t0 = Date.now();
      thawWith(child, 'SIGINT');
      const r = await child.exited;
      const ms = Date.now() - t0;
      const seen = watch.stop();
      const what = `demo netns SIGINT (attempt ${attempt}, after ${child.lines.filter((l) => l.startsWith('== ')).length} of 22 experiments): exited ${r.code} in ${ms} ms`;
      expect(ms, what).toBeLessThan(EXIT_BOUND_MS);
      expect(r.code, what).toBe(130);
      expect(child.stderr()).toBe('fourtuple demo: interrupted\n');
      expect(leftovers()).toBe(0);
      expect(stillRunning(seen), 'processes it started').toEqual([]);
      expect(await socketsGone([[base, base + 3]]), 'sockets on its ports').toEqual([]);
      return;
    }
  });
});

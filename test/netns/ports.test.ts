/**
 * The experiments where ports run out, against the real kernel, each in a namespace of its own
 * whose ephemeral range is narrowed (root only: skipped with the reason otherwise, required
 * under CI as root). What the kernel does is written here from the rules (and Linux's selftest
 * reuseaddr_ports_exhausted.c), independently of the catalogue's predictions; and the
 * namespace is gone afterwards.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { CATALOGUE, type DemoResult, runExperiments } from '../../src/experiments/index.js';
import { parseNetnsList } from '../../src/hosts/index.js';
import { BIN, cli } from '../helpers/cli.js';
import { describeNetns } from '../helpers/netns.js';

function namespaces(): string[] {
  return parseNetnsList(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }));
}

/** The second bind(ip, 0) in a one-port world: ok only with ip_autobind_reuse=1, SO_REUSEADDR
 * on both, and not SO_REUSEPORT on both (the selftest's "reusable" rows). */
const SHARES = new Set(['ra-ra-autobind1', 'ra-both-autobind1', 'both-ra-autobind1']);

const WORLD = CATALOGUE.filter((e) => e.world).map((e) => e.name);

describeNetns('the port rules when ports run out', () => {
  let r: DemoResult;

  it('runs every world experiment, each as predicted, in a few seconds', async () => {
    const t0 = performance.now();
    r = await runExperiments({ names: WORLD });
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(r.summary.skipped).toEqual([]);
    expect(r.summary.differed).toEqual([]);
    expect(r.summary.matched).toBe(WORLD.length);
    // every per-socket-range run saw what its namespace-wide twin saw
    const twins = WORLD.filter((n) => n.endsWith('-sockopt')).length;
    expect(r.summary.rangeAgreement).toEqual({ agree: twins, of: twins, differ: [] });
    for (const e of r.experiments) {
      expect(e.hosts, e.name).toBe('netns');
      // the world's sysctls were set and read back inside its namespace
      expect(e.steps[0], e.name).toMatchObject({ socket: 'ns', op: 'sysctl', result: 'ok' });
    }
  });

  it('removes the namespace it ran in', () => {
    const world = r.summary.world;
    expect(world?.runId).toMatch(/^[a-z0-9]{6}$/);
    expect(namespaces().filter((n) => n.startsWith(`ft-${world!.runId}-`))).toEqual([]);
  });

  it('the bind matrix: three second binds of 32 share the one port, both ways of narrowing', () => {
    for (const suffix of ['', '-sockopt']) {
      const rows = r.experiments.filter(
        (e) =>
          e.of === 'exhausted-bind' &&
          (suffix ? e.name.endsWith(suffix) : !e.name.endsWith('-sockopt')),
      );
      expect(rows, suffix).toHaveLength(32);
      for (const e of rows) {
        const key = e.name.replace('exhausted-bind-', '').replace('-sockopt', '');
        expect(e.observed.outcomes, e.name).toEqual({
          B1: 'ok',
          B2: SHARES.has(key) ? 'ok' : 'bind EADDRINUSE',
        });
        expect(e.observed.sourcePorts.B1, e.name).toBe(40000);
        if (SHARES.has(key)) expect(e.observed.sourcePorts.B2, e.name).toBe(40000);
      }
    }
  });

  it('connect strategies: the one port serves two destinations unless bind(ip, 0) reserved it', () => {
    for (const suffix of ['', '-sockopt']) {
      const o = (s: string) =>
        r.experiments.find((e) => e.name === `exhausted-connect-${s}${suffix}`)!.observed;
      for (const s of ['connect', 'no-port', 'bind-zero-autobind']) {
        expect(o(s).outcomes.C2, s).toBe('ok');
        expect(o(s).sourcePorts.C1, s).toBe(40000);
        expect(o(s).sourcePorts.C2, s).toBe(40000);
      }
      expect(o('bind-zero').outcomes.C2).toBe('bind EADDRINUSE');
    }
  });

  it('the ceiling: K=8 per destination by connect(), 8 in all by bind(ip, 0)', () => {
    for (const suffix of ['', '-sockopt']) {
      const o = (s: string) =>
        r.experiments.find((e) => e.name === `port-ceiling-${s}${suffix}`)!.observed;
      for (const s of ['connect', 'bind-no-port']) {
        expect(o(s).outcomes['to L1'], s).toBe('8 ok, then connect EADDRNOTAVAIL');
        expect(o(s).outcomes['to L2'], s).toBe('8 ok, then connect EADDRNOTAVAIL');
        expect(o(s).established, s).toBe(16);
      }
      expect(o('bind-zero').outcomes['to L1']).toBe('8 ok, then bind EADDRINUSE');
      expect(o('bind-zero').outcomes['to L2']).toBe('0 ok, then bind EADDRINUSE');
      expect(o('bind-zero').established).toBe(8);
    }
  });

  const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;

  it.skipIf(!hasSetpriv)(
    'without root the world experiments are skipped with the reason, never failed',
    () => {
      // the same binary as an unprivileged user (setpriv drops root for the child only)
      const c = spawnSync(
        'setpriv',
        ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, BIN, 'demo'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(c.stderr).toBe('');
      expect(c.status).toBe(0);
      const loopback = CATALOGUE.length - WORLD.length;
      expect(c.stdout).toContain(
        `${loopback} match the prediction, none differs; ${WORLD.length} skipped (needs a network namespace of its own: not root (uid 65534)`,
      );
      expect(c.stdout).toMatch(/verdict: +skipped, not run: needs a network namespace/);
    },
  );

  it('`fourtuple demo exhausted-connect --hosts netns` runs them too and exits 0', async () => {
    const c = await cli(['demo', 'exhausted-connect', '--hosts', 'netns']);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/ip_local_port_range=40000 40000/);
    expect(c.stdout).toMatch(/8 match the prediction, none differs/);
  });
});

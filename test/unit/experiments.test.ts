/** The experiment catalogue's integrity, and `fourtuple demo` argument handling (no sockets). */
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  CATALOGUE,
  catalogueFamilies,
  describeTopology,
  type Experiment,
  FAMILY_SUMMARIES,
  PORT_SPAN,
  selectExperiments,
} from '../../src/experiments/index.js';
import { cli } from '../helpers/cli.js';

const ids = (e: Experiment): string[] => (e.sockets ?? []).map((s) => s.id);

function isLoopback(ip: string): boolean {
  if (ip === '0.0.0.0') return true; // a wildcard listener, reached only through 127.x
  if (isIP(ip) === 4) return ip.startsWith('127.');
  return ip === '::1';
}

describe('the catalogue', () => {
  it('has unique names in kebab-case', () => {
    const names = CATALOGUE.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it('holds every experiment the issue asks for', () => {
    const names = new Set(CATALOGUE.map((e) => e.name));
    for (const n of [
      'diff-port',
      'diff-ip',
      'one-listener-two-ips',
      'diff-source-ip',
      'same-4-tuple',
      'diff-port-no-reuseaddr',
      'diff-ip-no-reuseaddr',
      'one-listener-two-ips-no-reuseaddr',
      'diff-source-ip-no-reuseaddr',
      'listener-port-as-source',
      'listener-port-as-source-reuseport',
      'bind-zero-vs-no-port',
      'self-connect',
      'diff-port-v6',
      'same-4-tuple-v6',
      'self-connect-v6',
      'listener-restart',
      'listener-restart-no-reuseaddr',
    ]) {
      expect(names.has(n), n).toBe(true);
    }
  });

  it.each(CATALOGUE.map((e) => [e.name, e] as const))(
    '%s: summary, prediction and explanation',
    (_name, e) => {
      expect(e.summary.length).toBeGreaterThan(10);
      expect(e.predictionText.length).toBeGreaterThan(5);
      expect(e.explanation.length).toBeGreaterThan(80);
      expect(Object.keys(e.prediction.outcomes).length).toBeGreaterThan(0);
      expect(Number.isInteger(e.prediction.established)).toBe(true);
      expect(Object.keys(e.variant).length).toBeGreaterThan(0);
      for (const [k, o] of Object.entries(e.prediction.outcomes)) {
        if (k.endsWith(' accepted')) expect(o).toMatch(/^\d+$/);
        else if (k.startsWith('to ')) expect(o).toMatch(/^\d+ ok, then (bind|connect) E[A-Z]+$/);
        else expect(o).toMatch(/^(ok|(bind|listen|connect) E[A-Z]+)$/);
      }
      // Exactly one way to run it.
      expect(Boolean(e.sockets) !== Boolean(e.restart)).toBe(true);
      if (e.of) {
        expect(CATALOGUE.some((b) => b.name === e.of) || e.of in FAMILY_SUMMARIES, e.of).toBe(true);
      }
      expect(describeTopology(e).length).toBeGreaterThan(0);
    },
  );

  it.each(CATALOGUE.filter((e) => e.sockets).map((e) => [e.name, e] as const))(
    '%s: sockets are consistent with the prediction',
    (_name, e) => {
      const sockets = e.sockets ?? [];
      const names = ids(e);
      expect(new Set(names).size).toBe(names.length);
      // every predicted outcome names a socket (or a ceiling's destination, or a listener's
      // accept count), and every socket has a predicted outcome
      const extra = [
        ...(e.ceiling?.destinations.map((d) => `to ${d}`) ?? []),
        ...(e.observeAccepted
          ? sockets.filter((s) => s.role === 'listener').map((s) => `${s.id} accepted`)
          : []),
      ];
      expect(Object.keys(e.prediction.outcomes).sort()).toEqual([...names, ...extra].sort());
      // established = connectors predicted to connect (bind-only sockets never do), plus the
      // connections a ceiling predicts
      const okConnectors = sockets.filter(
        (s) => s.role === 'connector' && s.to && e.prediction.outcomes[s.id] === 'ok',
      ).length;
      const filled = (e.ceiling?.destinations ?? []).reduce(
        (n, d) => n + Number.parseInt(e.prediction.outcomes[`to ${d}`] ?? '0', 10),
        0,
      );
      expect(e.prediction.established).toBe(okConnectors + filled);
      const listeners = new Set(sockets.filter((s) => s.role === 'listener').map((s) => s.id));
      sockets.forEach((s, i) => {
        const addrs =
          s.role === 'listener' ? [s.at] : [...(s.to ? [s.to] : []), ...(s.from ? [s.from] : [])];
        for (const a of addrs) {
          expect(isLoopback(a.ip), `${s.id} ${a.ip}`).toBe(true);
          expect(isIP(a.ip)).toBe(e.family);
          if (a.port !== 'kernel') {
            expect(a.port).toBeGreaterThanOrEqual(0);
            expect(a.port).toBeLessThanOrEqual(PORT_SPAN);
          }
        }
        if (s.role === 'connector') {
          if (s.echo && s.echo !== 'self') expect(listeners.has(s.echo)).toBe(true);
          if (s.portRangeOf) {
            expect(names.slice(0, i)).toContain(s.portRangeOf);
            // the port comes from a connector that is predicted to connect
            expect(e.prediction.outcomes[s.portRangeOf]).toBe('ok');
          }
        }
      });
      for (const group of [
        ...(e.prediction.samePort ?? []),
        ...(e.prediction.differentPort ?? []),
      ]) {
        for (const id of group) expect(names).toContain(id);
      }
    },
  );

  it('multi-host experiments place every socket on a machine', () => {
    for (const e of CATALOGUE.filter((x) => x.multiHost)) {
      for (const s of e.sockets ?? []) expect(s.machine, `${e.name} ${s.id}`).toBeTypeOf('number');
    }
  });

  it('selectExperiments keeps the order asked for and refuses unknown names', () => {
    expect(selectExperiments(['self-connect', 'diff-port']).map((e) => e.name)).toEqual([
      'self-connect',
      'diff-port',
    ]);
    expect(selectExperiments().length).toBe(CATALOGUE.length);
    expect(() => selectExperiments(['nope'])).toThrow(/unknown experiment "nope".*diff-port/);
  });
});

describe('fourtuple demo arguments', () => {
  it('an unknown experiment exits 2 and lists the valid names', async () => {
    const r = await cli(['demo', 'diff-port', 'no-such-thing']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown experiment "no-such-thing"/);
    for (const e of CATALOGUE) expect(r.stderr).toContain(e.name);
    expect(r.stdout).toBe('');
  });

  it('--list prints the families, each with one line per experiment', async () => {
    const r = await cli(['demo', '--list']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const families = catalogueFamilies();
    expect(lines).toHaveLength(CATALOGUE.length + families.length);
    let k = 0;
    for (const f of families) {
      expect(lines[k++]).toMatch(new RegExp(`^${f.family} \\(${f.experiments.length}\\)`));
      for (const e of f.experiments) {
        expect(lines[k]?.startsWith(`  ${e.name} `)).toBe(true);
        expect(lines[k++]).toContain(e.summary);
      }
    }
  });

  it('--list --json prints the catalogue', async () => {
    const r = await cli(['demo', '--list', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as Experiment[];
    expect(list.map((e) => e.name)).toEqual(CATALOGUE.map((e) => e.name));
  });

  it('refuses a bad --base-port or --hosts with exit 2', async () => {
    for (const args of [
      ['--base-port', '80'],
      ['--base-port', '65534'],
      ['--base-port', 'x'],
      ['--hosts', 'cloud'],
    ]) {
      const r = await cli(['demo', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/--(base-port|hosts)/);
    }
  });

  it('--help names every option', async () => {
    const r = await cli(['demo', '--help']);
    expect(r.code).toBe(0);
    for (const o of ['--list', '--base-port', '--hosts', '--json']) expect(r.stdout).toContain(o);
  });
});

describe('the families where ports run out', () => {
  const world = CATALOGUE.filter((e) => e.world);

  it('every world experiment cites the kernel rule that decides it', () => {
    expect(world.length).toBeGreaterThan(0);
    for (const e of world) {
      expect(e.explanation, e.name).toMatch(
        /inet_csk_get_port|inet_csk_bind_conflict|inet_csk_find_open_port|__inet_hash_connect/,
      );
    }
  });

  it.each(['sysctl', 'socket'] as const)(
    'the bind matrix (%s): 16 option pairs x ip_autobind_reuse 0/1, three second binds predicted to succeed',
    (via) => {
      const matrix = world.filter((e) => e.of === 'exhausted-bind' && e.world?.via === via);
      expect(matrix).toHaveLength(32);
      const ok = matrix.filter((e) => e.prediction.outcomes.B2 === 'ok').map((e) => e.name);
      const suffix = via === 'socket' ? '-sockopt' : '';
      expect(ok.sort()).toEqual(
        ['both-ra', 'ra-both', 'ra-ra'].map((p) => `exhausted-bind-${p}-autobind1${suffix}`),
      );
      for (const e of matrix) {
        expect(e.variant.reuseaddr).toHaveLength(2);
        expect(e.variant.reuseport).toHaveLength(2);
        expect([0, 1]).toContain(e.variant.autobindReuse);
      }
    },
  );

  it('has the strategies, the ceilings, the order pairs and the reuseport variants', () => {
    const names = new Set(CATALOGUE.map((e) => e.name));
    for (const n of [
      'exhausted-connect-connect',
      'exhausted-connect-bind-zero',
      'exhausted-connect-bind-zero-autobind',
      'exhausted-connect-no-port-sockopt',
      'port-ceiling-connect',
      'port-ceiling-bind-zero',
      'port-ceiling-bind-no-port-sockopt',
      'order-connector-first-lra-cra',
      'order-listener-first-lboth-cboth',
      'self-connect-listener',
      'reuseport-fastpath-control',
      'reuseport-fastpath-vouched',
      'diff-port-reuseport',
      'diff-ip-reuseaddr-reuseport',
      'one-listener-two-ips-reuseport',
      'diff-source-ip-reuseport',
      'same-4-tuple-reuseaddr-reuseport',
    ]) {
      expect(names.has(n), n).toBe(true);
    }
    expect(CATALOGUE.filter((e) => e.of === 'order')).toHaveLength(16);
  });
});

/**
 * `max --tls` and the flags of the plain engine: those its path cannot honour (its own workers,
 * its encrypted echo) are refused with exit 2 and one line naming the flag, before any process
 * starts; --rate is honoured (the client workers pace their handshakes), measured on loopback.
 */
import { describe, expect, it } from 'vitest';
import { TLS_IGNORES } from '../../src/cli/max.js';
import type { MaxResult } from '../../src/scale/coordinator.js';
import { cli } from '../helpers/cli.js';

/** a value each refused flag accepts on its own */
const VALUE: Record<(typeof TLS_IGNORES)[number], string> = {
  workers: '2',
  'fds-per-worker': '1000',
  concurrency: '2',
  probe: 'none',
  'probe-interval': '1s',
  'port-strategy': 'kernel',
};

describe('max --tls refuses the flags it would ignore (exit 2, one line naming the flag)', () => {
  for (const flag of TLS_IGNORES) {
    it(`--${flag}`, async () => {
      const out = await cli(['max', '--tls', '--connections', '10', `--${flag}`, VALUE[flag]]);
      expect(out.code).toBe(2);
      expect(out.stdout).toBe('');
      const lines = out.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`--tls and --${flag} cannot be used together`);
    });
  }

  it('the same flags without --tls are taken (a --port-strategy given as the default too)', async () => {
    const out = await cli([
      'max',
      '--connections',
      '50',
      '--hold',
      '0',
      '--port-strategy',
      'kernel',
      '--workers',
      '1',
      '--json',
    ]);
    expect(out.code).toBe(0);
    expect((JSON.parse(out.stdout) as MaxResult).established).toBe(50);
  }, 60_000);
});

describe('max --tls --rate paces the handshakes', () => {
  it('100 handshakes at --rate 40 take at least 2.4 s to open (unpaced: well under it)', async () => {
    const out = await cli([
      'max',
      '--tls',
      '--no-baseline',
      '--connections',
      '100',
      '--rate',
      '40',
      '--hold',
      '0',
      '--json',
    ]);
    expect(out.code).toBe(0);
    const r = JSON.parse(out.stdout) as MaxResult;
    expect(r.established).toBe(100);
    expect(r.alive).toBe(100);
    // connection k starts no sooner than k / 40 s: the 100th at 99 / 40 = 2.475 s
    expect(r.tls!.run.rampMs).toBeGreaterThanOrEqual(2400);
    // and no more than 40 in any second's sample (the first can hold a burst of one second's)
    for (const s of r.series) expect(s.rate).toBeLessThanOrEqual(40 * 1.5);
  }, 60_000);
});

/**
 * A connection is dead only on evidence (a reset, a FIN, an error, a probe unanswered while its
 * peer is alive). One that verify did not reach before its timeout is *unverified*: a run whose
 * verify runs out of time must not report healthy connections as dead (issue 16: 44,422 "dead"
 * at 1.17M were connections a 30 s timeout had not checked).
 */
import { describe, expect, it } from 'vitest';
import { runMax } from '../../src/scale/coordinator.js';

describe('max verify: unverified is not dead', () => {
  it('a verify that runs out of time leaves the rest unverified, none dead', async () => {
    const r = await runMax({
      connections: 4000,
      workers: 1,
      holdMs: 0,
      verifyTimeoutMs: 1,
      sampleMs: 200,
    });
    expect(r.established).toBe(4000);
    expect(r.dead).toBe(0);
    const unverified = r.unverified;
    expect(unverified).toBeGreaterThan(0);
    expect(r.alive + unverified).toBe(4000);
  });
});

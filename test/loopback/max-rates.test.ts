/**
 * A real `max` ramp's series: a point every 250 ms (the default), the ramp's last point at its
 * end, and the result's rates read from those points, so that peak >= mean (issue 16: a mean
 * above the peak in the terminal, a chart at 67k/s beside a "peak 42,938" card).
 */
import { describe, expect, it } from 'vitest';
import { runMax } from '../../src/scale/coordinator.js';
import type { Progress } from '../../src/scale/types.js';

describe('max: progress every 250 ms, and rates that agree with the series', () => {
  it('--rate 4000 for 8,000: a point every ~250 ms of the ramp, peak >= mean = established / ramp time', async () => {
    const progress: Progress[] = [];
    const r = await runMax({ connections: 8000, rate: 4000, holdMs: 1500 }, (p) => {
      progress.push(p);
    });
    expect(r.established).toBe(8000);
    const { rampMs } = r.timing;
    const ramp = r.series.filter((s) => s.t <= rampMs);
    const hold = r.series.filter((s) => s.t > rampMs);
    // ~2 s of ramp: 4 points a second, not 2 or 3 for the whole ramp
    expect(ramp.length).toBeGreaterThanOrEqual(Math.floor(rampMs / 250) - 1);
    for (const [i, s] of ramp.entries()) {
      const gap = s.t - (ramp[i - 1]?.t ?? 0);
      expect(gap).toBeGreaterThanOrEqual(125); // a sliver is merged into the interval before
    }
    // the ramp's last point is its end
    expect(ramp.at(-1)).toMatchObject({ t: rampMs, established: r.established });
    // the hold: a point a second
    for (const [i, s] of hold.entries()) {
      expect(s.t - (hold[i - 1]?.t ?? rampMs)).toBeGreaterThanOrEqual(900);
    }
    expect(r.rate.meanPerSec).toBe(Math.round((r.established * 1000) / rampMs));
    expect(r.rate.peakPerSec).toBe(Math.max(...r.series.map((s) => s.rate)));
    expect(r.rate.peakPerSec).toBeGreaterThanOrEqual(r.rate.meanPerSec);
    expect(progress.filter((p) => p.phase === 'ramp').length).toBeGreaterThanOrEqual(ramp.length);
  });
});

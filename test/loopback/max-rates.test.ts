/**
 * A real `max` ramp's series: a point every 250 ms (the default), the ramp's last point at its
 * end, and the result's rates read from those points, so that peak >= mean (issue 16: a mean
 * above the peak in the terminal, a chart at 67k/s beside a "peak 42,938" card).
 */
import { availableParallelism } from 'node:os';
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

    // the machine's CPU time since the ramp started, on every point: never falling, and over
    // the ramp it adds up to every CPU's time (USER_HZ ticks read as ms: a wrong scale or a
    // missing field of /proc/stat would not)
    let prev = { userMs: 0, kernelMs: 0, idleMs: 0, stealMs: 0 };
    for (const s of ramp) {
      expect(s.cpu).toBeDefined();
      for (const k of ['userMs', 'kernelMs', 'idleMs', 'stealMs'] as const) {
        expect(s.cpu![k]).toBeGreaterThanOrEqual(prev[k]);
      }
      prev = s.cpu!;
    }
    const all = prev.userMs + prev.kernelMs + prev.idleMs + prev.stealMs;
    const cpuMs = availableParallelism() * ramp.at(-1)!.t;
    expect(all).toBeGreaterThan(cpuMs * 0.7);
    expect(all).toBeLessThan(cpuMs * 1.3 + 50);
    // so each stretch of the ramp has a CPU cost per connection (kernel and user) beside its rate
    const first = r.flatCost?.cpu?.per10To20;
    expect(first).toBeTruthy();
    expect(first!.userUs + first!.kernelUs).toBeGreaterThan(0);
    expect(first!.idleShare).toBeGreaterThanOrEqual(0);
    expect(first!.idleShare).toBeLessThanOrEqual(1);
  });
});

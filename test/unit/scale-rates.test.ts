/**
 * The rates of a `max` run read from its series (rates.ts): peak and mean cannot contradict each
 * other, whatever the samples were.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addSample, type Reading, seriesRates } from '../../src/scale/rates.js';
import type { Sample } from '../../src/scale/types.js';

const reading = (t: number, established: number): Reading => ({
  t,
  established,
  accepted: established,
  failures: {},
  memAvailableBytes: 0,
  slabBytes: 0,
  rssBytes: 0,
});

/** A series built as the sampler builds it, from readings at rising times. */
function build(points: [number, number][], minIntervalMs: number): Sample[] {
  const series: Sample[] = [];
  for (const [t, n] of points) addSample(series, reading(t, n), minIntervalMs);
  return series;
}

/** Readings at non-decreasing times (gaps 0 to 3 s), any count (connections can also die). */
const readings = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 2_000_000 })), {
    minLength: 1,
    maxLength: 60,
  })
  .map((xs) => {
    let t = 0;
    return xs.map(([dt, n]): [number, number] => {
      t += dt;
      return [t, n];
    });
  });

describe('max rates: one series for the chart, the peak and the mean', () => {
  it('for any series, peak >= mean (the mean is a weighted average of the interval rates)', () => {
    fc.assert(
      fc.property(readings, fc.integer({ min: 0, max: 1000 }), (points, minMs) => {
        const series = build(points, minMs);
        const end = series[series.length - 1]!;
        const r = seriesRates(series, end.t);
        expect(r.peakPerSec).toBeGreaterThanOrEqual(r.meanPerSec);
        expect(r.peakPerSec).toBeGreaterThanOrEqual(r.medianPerSec);
        // the peak is the top of the chart's line, the mean the count over the ramp's time
        expect(r.peakPerSec).toBe(Math.max(0, ...series.map((s) => s.rate)));
        expect(r.meanPerSec).toBe(end.t > 0 ? Math.round((end.established * 1000) / end.t) : 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('a reading a sliver after the last one replaces it, so no interval of a few ms spikes', () => {
    // 250 ms samples, then the ramp's end 10 ms later with 1,000 more: 100k/s over 10 ms
    const series = build(
      [
        [250, 5000],
        [500, 10_000],
        [510, 11_000],
      ],
      125,
    );
    expect(series.map((s) => [s.t, s.rate])).toEqual([
      [250, 20_000],
      [510, 23_077], // 6,000 in 260 ms
    ]);
    const r = seriesRates(series, 510);
    expect(r).toEqual({ medianPerSec: 21_539, peakPerSec: 23_077, meanPerSec: 21_569 });
  });

  it('the hold adds points to the chart but not to the mean or the median', () => {
    const series = build(
      [
        [250, 1000],
        [500, 3000],
        [1500, 3000],
        [2500, 2990],
      ],
      125,
    );
    expect(series.map((s) => s.rate)).toEqual([4000, 8000, 0, -10]);
    expect(seriesRates(series, 500)).toEqual({
      medianPerSec: 6000,
      peakPerSec: 8000,
      meanPerSec: 6000,
    });
  });
});

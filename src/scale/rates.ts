/**
 * The connect rates of a `max` run, all read from one series: the samples the report's chart
 * draws. Each sample's `rate` is the established count's change over the interval since the
 * sample before it (the first one's interval starts at the ramp's start, with 0 established);
 * the ramp's mean is the last ramp sample's count over its time. The mean is then the
 * time-weighted average of the ramp's interval rates (their changes add up to the count), so it
 * can never exceed their maximum, the peak: peak >= mean holds by construction, not by luck.
 */
import type { Sample } from './types.js';

/** A sample before its rate is known. */
export type Reading = Omit<Sample, 'rate'>;

/** The rate over the interval from `prev` (the ramp's start if none) to `s`, per second. */
function intervalRate(s: Reading, prev: Reading | undefined): number {
  const dt = s.t - (prev?.t ?? 0);
  return dt > 0 ? Math.round(((s.established - (prev?.established ?? 0)) * 1000) / dt) : 0;
}

/**
 * Adds a reading to the series with its interval rate. A reading less than `minIntervalMs`
 * after the previous one (the extra sample at the ramp's end, one the memory guard asked for)
 * replaces it instead, so that the interval it closes is not a sliver whose rate would spike:
 * the merged interval runs from the sample before (the ramp's start for the first).
 */
export function addSample(series: Sample[], s: Reading, minIntervalMs: number): Sample {
  let prev = series[series.length - 1];
  // A reading at the time of the one before it closed no interval (its rate is 0 whatever it
  // opened): the next one takes its place, so that every count is in some interval's rate.
  const sliver = (p: Sample): boolean =>
    s.t - p.t < Math.max(1, minIntervalMs) || p.t <= (series[series.length - 2]?.t ?? 0);
  if (prev && sliver(prev)) {
    series.pop();
    prev = series[series.length - 1];
  }
  const sample: Sample = { ...s, rate: intervalRate(s, prev) };
  series.push(sample);
  return sample;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

/**
 * Median, peak and mean connects per second of a series whose ramp ended at `rampMs` (its last
 * ramp sample is taken then). peak: the highest interval rate in the series, the top of the
 * chart; mean: established at the ramp's end over the ramp's seconds; median: of the ramp's
 * intervals that opened any.
 */
export function seriesRates(
  series: readonly Sample[],
  rampMs: number,
): { medianPerSec: number; peakPerSec: number; meanPerSec: number } {
  const ramp = series.filter((s) => s.t <= rampMs);
  const end = ramp[ramp.length - 1];
  const meanPerSec = end && end.t > 0 ? Math.round((end.established * 1000) / end.t) : 0;
  // a reduce, not Math.max(...): a long hold's series would overflow the call's arguments
  const peakPerSec = series.reduce((m, s) => Math.max(m, s.rate), 0);
  const medianPerSec = median(ramp.filter((s) => s.rate > 0).map((s) => s.rate));
  return { medianPerSec, peakPerSec, meanPerSec };
}

/**
 * When the series crossed `count` established, interpolated between the samples around it
 * (ms since the ramp's start); undefined when it never did.
 */
function crossing(series: readonly Sample[], count: number): number | undefined {
  if (count <= 0) return 0;
  let prev = { t: 0, established: 0 };
  for (const s of series) {
    if (s.established >= count && prev.established < count) {
      return (
        prev.t + ((count - prev.established) / (s.established - prev.established)) * (s.t - prev.t)
      );
    }
    prev = s;
  }
  return undefined;
}

/**
 * Connects per second while the count went from `lo` to `hi` (fractions of `peak`), the
 * crossing times interpolated between samples; null when the series does not cross both.
 */
export function rateBetween(
  series: readonly Sample[],
  peak: number,
  lo: number,
  hi: number,
): number | null {
  const t1 = crossing(series, peak * lo);
  const t2 = crossing(series, peak * hi);
  if (t1 === undefined || t2 === undefined || t2 <= t1) return null;
  return Math.round((peak * (hi - lo) * 1000) / (t2 - t1));
}

/** The rate in the tail against the rate at the start: flat cost (issue 16, goal 4). */
export interface FlatCost {
  /** connects per second from 10% to 20% of the peak count */
  ratePer10To20: number | null;
  /** connects per second from 80% to 90% of the peak count */
  ratePer80To90: number | null;
  /** ratePer80To90 / ratePer10To20 (1: the tail costs what the start did); null if either is */
  ratio: number | null;
}

/** The flat-cost figure of a series that peaked at `peak` established. */
export function flatCost(series: readonly Sample[], peak: number): FlatCost {
  const ratePer10To20 = rateBetween(series, peak, 0.1, 0.2);
  const ratePer80To90 = rateBetween(series, peak, 0.8, 0.9);
  const ratio =
    ratePer10To20 && ratePer80To90 !== null ? +(ratePer80To90 / ratePer10To20).toFixed(3) : null;
  return { ratePer10To20, ratePer80To90, ratio };
}

/**
 * Connects per second in each tenth of the fill (0-10% of the peak, 10-20%, ...): the connect
 * cost against fill level that the report draws. A tenth the series does not cross is null.
 */
export function ratesByFill(
  series: readonly Sample[],
  peak: number,
  steps = 10,
): (number | null)[] {
  return Array.from({ length: steps }, (_, k) =>
    rateBetween(series, peak, k / steps, (k + 1) / steps),
  );
}

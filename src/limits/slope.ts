/**
 * The arithmetic of a stepped measurement: a cost is the slope of a quantity (Slab, RSS)
 * against the connections held, fitted over every step, and it is only as good as the steps
 * agree. Pure.
 */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Fit {
  /** least-squares slope of y against x */
  slope: number;
  /** its standard error (0 with two points: a line always fits them) */
  stderr: number;
}

/** Fits y = a + slope * x by least squares; NaN slope with fewer than two distinct x. */
export function fitSlope(xs: readonly number[], ys: readonly number[]): Fit {
  const n = Math.min(xs.length, ys.length);
  const mx = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const my = ys.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  if (n < 2 || sxx === 0) return { slope: Number.NaN, stderr: Number.NaN };
  const slope = sxy / sxx;
  if (n < 3) return { slope, stderr: 0 };
  let rss = 0;
  for (let i = 0; i < n; i++) rss += (ys[i]! - my - slope * (xs[i]! - mx)) ** 2;
  return { slope, stderr: Math.sqrt(rss / (n - 2) / sxx) };
}

/** Each step's own figure: (y[i+1] - y[i]) / (x[i+1] - x[i]). */
export function stepSlopes(xs: readonly number[], ys: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < Math.min(xs.length, ys.length); i++) {
    const dx = xs[i]! - xs[i - 1]!;
    if (dx !== 0) out.push((ys[i]! - ys[i - 1]!) / dx);
  }
  return out;
}

/**
 * The median of the steps' own slopes, and its standard error from their median absolute
 * deviation (1.4826 MAD estimates a standard deviation; the median's error is 1.253 sd / sqrt k).
 * One step spoilt by another program's burst moves neither, where it would pull a fitted line.
 */
export function robustSlope(xs: readonly number[], ys: readonly number[]): Fit {
  const steps = stepSlopes(xs, ys);
  if (steps.length === 0) return { slope: Number.NaN, stderr: Number.NaN };
  const slope = median(steps);
  const mad = median(steps.map((s) => Math.abs(s - slope)));
  return { slope, stderr: (1.253 * 1.4826 * mad) / Math.sqrt(steps.length) };
}

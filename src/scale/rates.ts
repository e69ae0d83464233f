/**
 * The connect rates of a `max` run, all read from one series: the samples the report's chart
 * draws. Each sample's `rate` is the established count's change over the interval since the
 * sample before it (the first one's interval starts at the ramp's start, with 0 established);
 * the ramp's mean is the last ramp sample's count over its time. The mean is then the
 * time-weighted average of the ramp's interval rates (their changes add up to the count), so it
 * can never exceed their maximum, the peak: peak >= mean holds by construction, not by luck.
 */
import type { CpuTimes } from '../limits/procfs.js';
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

/** CPU counters before the ramp: each sample's `cpu` is counted from its start. */
const NO_CPU: CpuTimes = { userMs: 0, kernelMs: 0, idleMs: 0, stealMs: 0 };

/**
 * Where the series first crossed `count` established: the samples either side (the ramp's
 * start, with 0 established, before the first) and how far between them, for interpolating any
 * of their figures; undefined when it never did.
 */
function crossingPoint(
  series: readonly Sample[],
  count: number,
): { a: Pick<Sample, 't' | 'established' | 'cpu'>; b: Sample; f: number } | undefined {
  let a: Pick<Sample, 't' | 'established' | 'cpu'> = { t: 0, established: 0, cpu: NO_CPU };
  for (const b of series) {
    if (b.established >= count && a.established < count) {
      return { a, b, f: (count - a.established) / (b.established - a.established) };
    }
    a = b;
  }
  return undefined;
}

/**
 * When the series crossed `count` established, interpolated between the samples around it
 * (ms since the ramp's start); undefined when it never did.
 */
function crossing(series: readonly Sample[], count: number): number | undefined {
  if (count <= 0) return 0;
  const c = crossingPoint(series, count);
  return c && c.a.t + c.f * (c.b.t - c.a.t);
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

/**
 * What each connection cost the machine in CPU while the count went from one fill level to
 * another: its CPU time (every CPU, every program, so other programs' work counts too) over
 * the connections opened meanwhile.
 */
export interface CpuPerConnection {
  /** user time per connection, us: the programs' own work (fourtuple's workers) */
  userUs: number;
  /** kernel time (system, irq, softirq) per connection, us: the kernel's work for them */
  kernelUs: number;
  /** share of the CPUs' time idle meanwhile, 0-1: near 0, the ramp was paced by CPU */
  idleShare: number;
}

/** The machine's CPU counters at the moment the series crossed `count`, interpolated. */
function cpuAt(series: readonly Sample[], count: number): CpuTimes | undefined {
  const c = crossingPoint(series, count);
  const a = c?.a.cpu;
  const b = c?.b.cpu;
  if (!c || !a || !b) return undefined;
  const mix = (k: keyof CpuTimes): number => a[k] + c.f * (b[k] - a[k]);
  return {
    userMs: mix('userMs'),
    kernelMs: mix('kernelMs'),
    idleMs: mix('idleMs'),
    stealMs: mix('stealMs'),
  };
}

/**
 * CPU per connection while the count went from `lo` to `hi` (fractions of `peak`); null when
 * the series does not cross both or has no CPU readings there.
 */
export function cpuBetween(
  series: readonly Sample[],
  peak: number,
  lo: number,
  hi: number,
): CpuPerConnection | null {
  const a = cpuAt(series, peak * lo);
  const b = cpuAt(series, peak * hi);
  const n = peak * (hi - lo);
  if (!a || !b || n <= 0) return null;
  const d = (k: keyof CpuTimes): number => Math.max(0, b[k] - a[k]);
  const all = d('userMs') + d('kernelMs') + d('idleMs') + d('stealMs');
  return {
    userUs: +((d('userMs') * 1000) / n).toFixed(1),
    kernelUs: +((d('kernelMs') * 1000) / n).toFixed(1),
    idleShare: all > 0 ? +(d('idleMs') / all).toFixed(3) : 0,
  };
}

/** The rate in the tail against the rate at the start: flat cost (issue 16, goal 4). */
export interface FlatCost {
  /** connects per second from 10% to 20% of the peak count */
  ratePer10To20: number | null;
  /** connects per second from 80% to 90% of the peak count */
  ratePer80To90: number | null;
  /** ratePer80To90 / ratePer10To20 (1: the tail costs what the start did); null if either is */
  ratio: number | null;
  /**
   * the machine's CPU per connection over the same two stretches: when the tail's connections
   * cost more CPU with the CPUs busy, the tail is slower because each connection costs more
   * (and `kernelUs` says whether the kernel's share grew), not because the ramp waited
   */
  cpu?: { per10To20: CpuPerConnection | null; per80To90: CpuPerConnection | null };
}

/** The flat-cost figure of a series that peaked at `peak` established. */
export function flatCost(series: readonly Sample[], peak: number): FlatCost {
  const ratePer10To20 = rateBetween(series, peak, 0.1, 0.2);
  const ratePer80To90 = rateBetween(series, peak, 0.8, 0.9);
  const ratio =
    ratePer10To20 && ratePer80To90 !== null ? +(ratePer80To90 / ratePer10To20).toFixed(3) : null;
  const per10To20 = cpuBetween(series, peak, 0.1, 0.2);
  const per80To90 = cpuBetween(series, peak, 0.8, 0.9);
  return {
    ratePer10To20,
    ratePer80To90,
    ratio,
    ...(per10To20 || per80To90 ? { cpu: { per10To20, per80To90 } } : {}),
  };
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

/** "24 us (kernel 19, user 5), CPUs 1% idle" */
export function cpuText(c: CpuPerConnection): string {
  const total = Math.round(c.userUs + c.kernelUs);
  return `${total} us (kernel ${Math.round(c.kernelUs)}, user ${Math.round(c.userUs)}), CPUs ${Math.round(c.idleShare * 100)}% idle`;
}

/** Below this flat cost the tail is explained, when the CPU readings can. */
const FLAT_ENOUGH = 0.85;

/**
 * Why the tail of the ramp was slower than its start, from what the CPUs did meanwhile; or
 * undefined when it was not (flat cost at least FLAT_ENOUGH) or the readings cannot say.
 * `pageReportingOrder`: the machine hands freed memory back to its hypervisor (virtio-balloon
 * free page reporting), which makes memory the kernel takes again cost a host page fault.
 */
export function explainTail(f: FlatCost, pageReportingOrder?: number): string | undefined {
  const a = f.cpu?.per10To20;
  const b = f.cpu?.per80To90;
  if (f.ratio === null || f.ratio >= FLAT_ENOUGH || !a || !b) return undefined;
  const costA = a.userUs + a.kernelUs;
  const costB = b.userUs + b.kernelUs;
  if (costA <= 0) return undefined;
  const grew = costB / costA;
  if (b.idleShare < 0.1 && grew >= 1.2) {
    const kernel = a.kernelUs > 0 ? b.kernelUs / a.kernelUs : 0;
    // the host's page faults are a cost the kernel pays: named only when its share grew
    const memory =
      pageReportingOrder !== undefined && kernel >= 1.3
        ? '; this machine hands freed memory back to its hypervisor (free page reporting), so once the memory freed recently is used up, each page the kernel takes for new sockets costs a page fault on the host'
        : '';
    return `each connection cost ${grew.toFixed(1)}x the CPU at 80-90% of the peak that it did at 10-20% (the kernel's time ${kernel.toFixed(1)}x), with the CPUs busy: the tail is slower because the kernel's work per connection grew, not because the ramp waited${memory}`;
  }
  if (b.idleShare >= 0.2) {
    return `the CPUs were ${Math.round(b.idleShare * 100)}% idle at 80-90% of the peak: the ramp waited there (on workers starting, or on the target), it was not paced by CPU`;
  }
  return undefined;
}

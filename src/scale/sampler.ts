/**
 * The sampler of a `max` run: every `sampleMs` during the ramp (250 ms by default, so a 2 s
 * ramp draws 8 points) and every second during the hold, it sums the workers' counts, reads
 * memory, adds a point to the series and reports progress; and it guards memory, reading
 * the memory free for sockets every 250 ms during the ramp and stopping the run below the floor. Its series is
 * the one the rates are read from (rates.ts).
 */

import type { CpuTimes } from '../limits/procfs.js';
import { formatBytes } from '../units.js';
import { readCpuTimes, readMem } from './_proc.js';
import type { WorkerPool } from './pool.js';
import { addSample, seriesRates } from './rates.js';
import type { RunState } from './run-state.js';
import type { Progress, Sample } from './types.js';

/** how often the memory guard reads memory during the ramp */
const GUARD_MS = 250;
/** the hold is flat: a point a second is enough, and keeps an hour's series short */
const HOLD_SAMPLE_MS = 1000;

export class Sampler {
  readonly series: Sample[] = [];
  /** the lowest memory free for sockets seen (readMem) */
  memMinBytes: number;
  private rampStart = performance.now();
  private timers: NodeJS.Timeout[] = [];
  /** the machine's CPU time when the ramp started (each sample's cpu is counted from it) */
  private cpu0: CpuTimes | undefined;

  constructor(
    private readonly run: RunState,
    private readonly pool: WorkerPool,
    private readonly opts: {
      floorBytes: number;
      sampleMs: number;
      target: number;
      memAvailableBytes: number;
      onProgress: (p: Progress) => void;
    },
  ) {
    this.memMinBytes = opts.memAvailableBytes;
  }

  /** Starts sampling (and guarding) at the start of the ramp: t = 0 from now. */
  start(): void {
    this.rampStart = performance.now();
    this.cpu0 = readCpuTimes();
    this.timers = [
      setInterval(() => {
        const last = this.series[this.series.length - 1];
        const holdMs = Math.max(this.opts.sampleMs, HOLD_SAMPLE_MS);
        const due = this.run.phase !== 'hold' || !last || this.now() - last.t >= holdMs - 50;
        if (due) this.sample();
      }, this.opts.sampleMs),
      setInterval(() => {
        if (this.run.phase === 'ramp' && readMem().availableBytes < this.opts.floorBytes) {
          this.sample();
        }
      }, GUARD_MS),
    ];
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** ms since the ramp started, as every sample's `t` */
  private now(): number {
    return Math.round(performance.now() - this.rampStart);
  }

  /**
   * One sample: the series (ramp, hold), progress, and the memory guard (ramp). Returns it; the
   * one taken as the ramp ends is the ramp's end (its `t` is the ramp's duration).
   */
  sample(): Sample {
    const phase = this.run.phase;
    const t = this.now();
    const { established, accepted, failures } = this.pool.totals();
    const mem = readMem();
    this.memMinBytes = Math.min(this.memMinBytes, mem.availableBytes);
    const inSeries = phase === 'ramp' || phase === 'hold';
    const reading = {
      t,
      established,
      accepted,
      failures,
      memAvailableBytes: mem.availableBytes,
      slabBytes: mem.slabBytes,
      rssBytes: inSeries ? this.pool.rssBytes() : 0,
      ...this.cpuSinceStart(),
    };
    // Outside the series (startup, verify), the rate is that since the series' last point.
    const last = this.series[this.series.length - 1];
    const s = inSeries
      ? addSample(this.series, reading, this.opts.sampleMs / 2)
      : addSample(last ? [last] : [], reading, 0);
    this.opts.onProgress({
      ...s,
      phase,
      target: this.opts.target,
      workers: this.pool.workers.length,
    });
    const floor = this.opts.floorBytes;
    if (phase === 'ramp' && mem.availableBytes < floor) {
      this.run.stop({
        reason: 'memory-guard',
        detail: `stopped by the memory guard: ${mem.cgroup ? `the memory cgroup's headroom (${mem.cgroup})` : 'memory free for sockets (MemAvailable less reclaimable slab)'} ${formatBytes(mem.availableBytes)} fell below the floor of ${formatBytes(floor)}`,
      });
    }
    return s;
  }

  /** The machine's CPU time since the ramp started, as a sample's `cpu` (nothing if unreadable). */
  private cpuSinceStart(): { cpu?: CpuTimes } {
    const now = readCpuTimes();
    const c0 = this.cpu0;
    if (!now || !c0) return {};
    return {
      cpu: {
        userMs: now.userMs - c0.userMs,
        kernelMs: now.kernelMs - c0.kernelMs,
        idleMs: now.idleMs - c0.idleMs,
        stealMs: now.stealMs - c0.stealMs,
      },
    };
  }

  /** When the ramp reached `peak`: one interval after the last sample below it (at most rampMs). */
  timeToPeak(rampMs: number, peak: number): number {
    const lastRising = [...this.series].reverse().find((s) => s.established < peak);
    return Math.min(rampMs, lastRising ? Math.round(lastRising.t + this.opts.sampleMs) : rampMs);
  }

  /** Median, peak and mean connects per second, from the series (rates.ts). */
  rates(rampMs: number): { medianPerSec: number; peakPerSec: number; meanPerSec: number } {
    return seriesRates(this.series, rampMs);
  }
}

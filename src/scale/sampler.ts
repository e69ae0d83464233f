/**
 * The sampler of a `max` run: every `sampleMs` it sums the workers' counts, reads memory, adds
 * a point to the series (during the ramp and the hold) and reports progress; and it guards
 * memory, reading the memory free for sockets every 250 ms during the ramp and stopping the run below the
 * floor.
 */
import { formatBytes } from '../units.js';
import { readMem } from './_proc.js';
import type { WorkerPool } from './pool.js';
import type { RunState } from './run-state.js';
import type { Progress, Sample } from './types.js';

/** how often the memory guard reads memory during the ramp */
const GUARD_MS = 250;

export class Sampler {
  readonly series: Sample[] = [];
  /** the lowest memory free for sockets seen (readMem) */
  memMinBytes: number;
  private rampStart = performance.now();
  private timers: NodeJS.Timeout[] = [];

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
    this.timers = [
      setInterval(() => this.sample(), this.opts.sampleMs),
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

  /** One sample: the series (ramp, hold), progress, and the memory guard (ramp). */
  sample(): void {
    const phase = this.run.phase;
    const t = Math.round(performance.now() - this.rampStart);
    const { established, accepted, failures } = this.pool.totals();
    const mem = readMem();
    this.memMinBytes = Math.min(this.memMinBytes, mem.availableBytes);
    const inSeries = phase === 'ramp' || phase === 'hold';
    const prev = this.series[this.series.length - 1];
    const dt = prev ? (t - prev.t) / 1000 : t / 1000;
    const rate = dt > 0 ? Math.round((established - (prev?.established ?? 0)) / dt) : 0;
    const s: Sample = {
      t,
      established,
      accepted,
      rate,
      failures,
      memAvailableBytes: mem.availableBytes,
      slabBytes: mem.slabBytes,
      rssBytes: inSeries ? this.pool.rssBytes() : 0,
    };
    if (inSeries) this.series.push(s);
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
  }

  /** When the ramp reached `peak`: one interval after the last sample below it (at most rampMs). */
  timeToPeak(rampMs: number, peak: number): number {
    const lastRising = [...this.series].reverse().find((s) => s.established < peak);
    return Math.min(rampMs, lastRising ? Math.round(lastRising.t + this.opts.sampleMs) : rampMs);
  }

  /**
   * Per-second rates from the regular samples only (the extra sample taken at the ramp's end
   * covers a fraction of an interval and would exaggerate).
   */
  rates(): number[] {
    const { series } = this;
    const { sampleMs } = this.opts;
    return series
      .filter((s, i) => s.rate > 0 && s.t - (series[i - 1]?.t ?? 0) >= sampleMs * 0.75)
      .map((s) => s.rate);
  }
}

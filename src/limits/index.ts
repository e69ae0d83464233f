/**
 * `limits`: what will stop this machine first, and by how much. Reads the limits, measures what
 * a connection costs (unless told not to), and predicts every ceiling for a shape of traffic.
 */
import { runMaxTls } from '../scale/tls.js';
import { type ConnectionCost, measureConnectionCost } from './measure.js';
import { type LimitsResult, memoryBudget, predictLimits } from './predict.js';
import { known, readLimits } from './read.js';
import { customShape, type Preset, presetShape, type Shape } from './shape.js';
import { type LimitsTlsOptions, tlsRunOptions, tlsWalls } from './tls.js';

export * from './measure.js';
export * from './predict.js';
export * from './procfs.js';
export * from './read.js';
export * from './rules.js';
export * from './shape.js';
export * from './slope.js';
export * from './tls.js';

export interface LimitsOptions {
  /** a preset shape; default 'many-ips' (what the machine as a whole can hold) */
  preset?: Preset;
  /** a custom shape instead of a preset: source IPs and destination endpoints */
  fromIps?: bigint;
  destinations?: bigint;
  /** with a custom shape: whether both ends are on this machine (default true, loopback) */
  bothEndsLocal?: boolean;
  /** measure the cost of a connection on loopback (default true) */
  measure?: boolean;
  /** connections the measurement opens (default 2000) */
  connections?: number;
  /**
   * the walls with TLS too: a short `max --tls` run on loopback (TLS and a plain-TCP baseline,
   * `connections` each, default 2000) measures the costs they divide by
   */
  tls?: LimitsTlsOptions;
  signal?: AbortSignal;
}

/** The default shape: the machine as a whole, many loopback source IPs to one listener. */
export const DEFAULT_PRESET: Preset = 'many-ips';

/** Reads, measures (unless `measure: false`) and predicts: the result of `fourtuple limits`. */
export async function limits(options: LimitsOptions = {}): Promise<LimitsResult> {
  const shape: Shape =
    options.fromIps !== undefined || options.destinations !== undefined
      ? customShape(
          options.fromIps ?? 1n,
          options.destinations ?? 1n,
          options.bothEndsLocal ?? true,
        )
      : presetShape(options.preset ?? DEFAULT_PRESET);
  let measured: ConnectionCost | null = null;
  if (options.measure !== false) {
    measured = await measureConnectionCost({
      ...(options.connections !== undefined ? { connections: options.connections } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
  const readings = readLimits();
  const result = predictLimits(shape, { readings, measured });
  if (!options.tls) return result;
  const run = await runMaxTls(tlsRunOptions(options.tls, options.signal));
  // interrupted, the run returns what it held: no figure to build a wall on
  options.signal?.throwIfAborted();
  const budget = known(memoryBudget(readings))?.availableBytes ?? 0;
  const estimate = Number(result.machine.estimate);
  return {
    ...result,
    tls: tlsWalls({ ...run, tls: run.tls! }, budget, estimate, shape.bothEndsLocal),
  };
}

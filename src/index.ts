/** fourtuple's library: every capability the CLI offers, as functions that return data. */
export * from './errors.js';
export * from './hosts/index.js';
export {
  type ConnectionCost,
  customShape,
  type Limit,
  type LimitsOptions,
  type LimitsReading,
  type LimitsResult,
  limits,
  type MeasureOptions,
  measureConnectionCost,
  PRESETS,
  type Preset,
  predictLimits,
  presetShape,
  type Reading,
  readLimits,
  readSockstat,
  type Shape,
} from './limits/index.js';
export { ephemeralPortRange, type PortRange, parsePortRange } from './limits/procfs.js';
export * from './theory/index.js';

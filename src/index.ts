/** fourtuple's library: every capability the CLI offers, as functions that return data. */
export * from './errors.js';
export * from './hosts/index.js';
export { ephemeralPortRange, type PortRange, parsePortRange } from './limits/procfs.js';
export * from './theory/index.js';

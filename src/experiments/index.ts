/** The classic socket-reuse experiments: a catalogue with predictions, and a runner. */
export * from './catalogue.js';
export { timeWaitOn } from './restart.js';
export * from './runner.js';
export { BASE_PORT_RANGE } from './setup.js';
export { describeTopology } from './topology.js';
export type * from './types.js';

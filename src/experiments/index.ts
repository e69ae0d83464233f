/** The classic socket-reuse experiments: a catalogue with predictions, and a runner. */
export * from './catalogue.js';
export * from './runner.js';

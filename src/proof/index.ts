/** The proof by construction: every possible connection among n machines x m ports. */
export * from './budget.js';
export { type GraphInput, proofGraph } from './graph.js';
export * from './prove.js';

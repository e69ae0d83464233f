/** The report: results (as the library returns them or as saved JSON) to a self-contained page. */
export { GRAPH_MAX_ENDPOINTS } from './graph.js';
export { ResultError, readResult, toReportInput } from './input.js';
export { describeMachine } from './machine.js';
export { proofList, renderReport, theoryList } from './render.js';
export type * from './types.js';
export { writeReport } from './write.js';

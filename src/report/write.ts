/** Writes the page to a file, atomically (see src/files.ts). */
import { writeFileAtomic } from '../files.js';
import { renderReport } from './render.js';
import type { ReportInput } from './types.js';

/**
 * Renders `results` and writes the page to `file` (a temporary file beside it, fsynced, then
 * renamed over it: the old page stays whole on any error); returns the absolute path written.
 */
export function writeReport(file: string, results: ReportInput): string {
  return writeFileAtomic(file, renderReport(results));
}

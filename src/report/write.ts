/** Writes the page to a file. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderReport } from './render.js';
import type { ReportInput } from './types.js';

/** Renders `results` and writes the page to `file`; returns the absolute path written. */
export function writeReport(file: string, results: ReportInput): string {
  const path = resolve(file);
  writeFileSync(path, renderReport(results));
  return path;
}

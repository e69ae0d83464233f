/** Writing the report page from a command, with file errors as one-line messages. */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { describeMachine, type ReportInput, writeReport } from '../report/index.js';
import { ERRNO_MEANING, errnoMeaning } from '../sockets/errno.js';
import type { Io } from './_command.js';
import type { Spec } from './_spec.js';

/** Writes the page; a path that cannot be written is a UsageError naming the flag. */
export function writeReportFile(flag: string, file: string, results: ReportInput): string {
  try {
    return writeReport(file, results);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && code in ERRNO_MEANING) {
      throw new UsageError(`${flag} cannot write "${file}" (${code}: ${errnoMeaning(code)})`, flag);
    }
    throw err;
  }
}

/** --report FILE, for the commands whose result the report page shows. */
export const REPORT_OPTION = {
  report: {
    type: 'custom',
    placeholder: 'FILE',
    accepts: 'a file name (FILE.html)',
    field: false,
    description: 'also write the result as the report page FILE (self-contained HTML)',
    parse: (text: string): string => reportFlag(text),
  },
} as const satisfies Spec;

/**
 * --report FILE, checked before the run starts (its directory must exist), so a long run is not
 * wasted on a path that cannot be written.
 */
export function reportFlag(v: string): string {
  if (v.trim() === '') {
    throw new UsageError('--report needs a file name (FILE.html)', 'report');
  }
  const dir = dirname(resolve(v));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(
      `--report cannot write "${v}" (ENOENT: ${errnoMeaning('ENOENT')})`,
      'report',
    );
  }
  return v;
}

/** Writes the page for one command's result when --report was given; the path goes to stderr. */
export function writeCommandReport(file: string | undefined, part: ReportInput, io: Io): void {
  if (file === undefined) return;
  const path = writeReportFile('--report', file, { ...part, machine: describeMachine() });
  io.stderr.write(`report: ${path}\n`);
}

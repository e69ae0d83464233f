/** Writing the report page from a command, with file errors as one-line messages. */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { describeMachine, type ReportInput, writeReport } from '../report/index.js';
import { ERRNO_MEANING, errnoMeaning } from '../sockets/errno.js';
import type { Io, ParsedValues } from './_command.js';

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

export const REPORT_OPTION = { report: { type: 'string' } } as const;

/**
 * --report FILE, checked before the run starts (its directory must exist), so a long run is not
 * wasted on a path that cannot be written.
 */
export function reportFlag(values: ParsedValues): string | undefined {
  const v = values.report;
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') {
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

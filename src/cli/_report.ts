/**
 * The files a command writes (the report page, the proof graph). Each is reserved before the run
 * (`reserveFile`: a temporary file beside the destination, so a directory, a missing directory or
 * a read-only one is refused up front, naming the flag) and committed after the result has been
 * printed, atomically: a failed write never loses a run, nor leaves half a page.
 */
import { SyscallError, UsageError } from '../errors.js';
import { type ReservedFile, reserveFile } from '../files.js';
import { describeMachine, type ReportInput, renderReport } from '../report/index.js';
import type { Io } from './_command.js';
import type { Spec } from './_spec.js';

/**
 * Reserves `file` for the flag `--${flag}`; a destination that cannot be written is a UsageError
 * naming the flag and the errno (`--report cannot write "x/" (EISDIR: ...)`).
 */
export function reserveOutput(
  flag: string,
  file: string,
  what = 'a file name (FILE.html)',
): ReservedFile {
  if (file.trim() === '') throw new UsageError(`--${flag} needs ${what}`, flag);
  try {
    return reserveFile(file);
  } catch (err) {
    if (err instanceof SyscallError) {
      throw new UsageError(`--${flag} cannot write "${file}" (${err.code}: ${err.meaning})`, flag);
    }
    throw err;
  }
}

/**
 * Writes a reserved file after the run (the result is already on stdout). A failure is a
 * SyscallError naming the path (`write ENOSPC /x/y.html`); the old file is left whole.
 */
export function commitOutput(file: ReservedFile, data: string | Uint8Array): string {
  return file.commit(data);
}

/** Renders the page into a reserved file; returns the path written. */
export function commitReport(file: ReservedFile, results: ReportInput): string {
  let page: string;
  try {
    page = renderReport(results);
  } catch (err) {
    file.discard();
    throw err;
  }
  return commitOutput(file, page);
}

/** --report FILE, for the commands whose result the report page shows: reserved when parsed. */
export const REPORT_OPTION = {
  report: {
    type: 'custom',
    placeholder: 'FILE',
    accepts: 'a file name (FILE.html)',
    field: false,
    description: 'also write the result as the report page FILE (self-contained HTML)',
    parse: (text: string): ReservedFile => reportFlag(text),
  },
} as const satisfies Spec;

/**
 * --report FILE, reserved before the run starts (a temporary file created beside it), so a long
 * run is not wasted on a path that cannot be written.
 */
export function reportFlag(v: string): ReservedFile {
  return reserveOutput('report', v);
}

/**
 * Writes the page for one command's result when --report was given; the path goes to stderr.
 * Call it after the result is printed.
 */
export function writeCommandReport(
  file: ReservedFile | undefined,
  part: ReportInput,
  io: Io,
): void {
  if (file === undefined) return;
  const path = commitReport(file, { ...part, machine: describeMachine() });
  io.stderr.write(`report: ${path}\n`);
}

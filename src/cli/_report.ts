/** Writing the report page from a command, with file errors as one-line messages. */
import { UsageError } from '../errors.js';
import { type ReportInput, writeReport } from '../report/index.js';

const MEANING: Record<string, string> = {
  ENOENT: 'no such directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EROFS: 'read-only file system',
};

/** Writes the page; a path that cannot be written is a UsageError naming the flag. */
export function writeReportFile(flag: string, file: string, results: ReportInput): string {
  try {
    return writeReport(file, results);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && MEANING[code]) {
      throw new UsageError(`${flag} cannot write "${file}" (${code}: ${MEANING[code]})`, flag);
    }
    throw err;
  }
}

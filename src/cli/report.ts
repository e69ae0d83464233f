/** `fourtuple report RESULTS.json [-o FILE.html]`: a saved result to the self-contained page. */
import { closeSync, openSync, readSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { describeMachine, readResult, toReportInput } from '../report/index.js';
import { MAX_INPUT_BYTES, parseSaved } from '../report/input.js';
import { formatBytes } from '../units.js';
import { defineCommand } from './_command.js';
import { commitReport, reserveOutput } from './_report.js';

/** results.json -> results.html, next to it. */
export function defaultReportPath(input: string): string {
  return /\.json$/i.test(input) ? input.replace(/\.json$/i, '.html') : `${input}.html`;
}

export const reportCommand = defineCommand({
  name: 'report',
  summary: 'render a saved result (tour, theory, demo, prove, limits, max) as an HTML page',
  description: `Renders a result saved with --json (the tour's, or one command's: theory, demo, prove, limits,
max; recognised by its fields) as one self-contained HTML page: charts, tables and the machine
it ran on, with no network request when opened. Prints the path written.`,
  epilog: `Example:
  fourtuple theory --machines 2 --ports 3 --json > theory.json && fourtuple report theory.json`,
  args: { usage: 'RESULTS.json', description: 'a result saved with --json (or --json-stream)' },
  options: {
    out: {
      type: 'string',
      short: 'o',
      placeholder: 'FILE',
      field: false,
      defaultText: 'RESULTS.html next to RESULTS.json',
      description: 'where to write the page',
    },
  },
  json: false,
  async run({ values, positionals, io }) {
    if (positionals.length !== 1) {
      throw new UsageError(
        `expects one RESULTS.json (got ${positionals.length === 0 ? 'none' : positionals.length})`,
      );
    }
    const file = positionals[0]!;
    const name = `RESULTS.json "${file}"`;
    const saved = parseSaved(readBounded(file, name));
    if (saved === undefined) {
      throw new UsageError(`${name} is not JSON (save a result with --json or --json-stream)`);
    }
    if (saved.value === undefined) {
      throw new UsageError(`${name} has no result: ${saved.cutShort} (the run was stopped early)`);
    }
    const input = toReportInput(readResult(saved.value, name));
    const results = {
      ...input,
      ...(input.machine ? {} : { machine: { ...describeMachine(), renderedHere: true } }),
      ...(saved.cutShort ? { cutShort: input.cutShort ?? saved.cutShort } : {}),
    };
    // the input is read first (bad input is named before the destination), then the page
    const out = reserveOutput('out', values.out ?? defaultReportPath(file));
    const path = commitReport(out, results);
    io.stdout.write(`${path}\n`);
    return 0;
  },
});

/** The file's text, refusing more than MAX_INPUT_BYTES (`report /dev/zero` ends at once). */
function readBounded(file: string, name: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new UsageError(
      `${name} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(1 << 20);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > MAX_INPUT_BYTES) {
        throw new UsageError(
          `${name} is larger than ${formatBytes(MAX_INPUT_BYTES)}: not a saved result`,
        );
      }
      chunks.push(buf.subarray(0, n));
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `${name} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  } finally {
    closeSync(fd);
  }
}

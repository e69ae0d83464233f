/** `fourtuple report RESULTS.json [-o FILE.html]`: a saved result to the self-contained page. */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { describeMachine, readResult, toReportInput } from '../report/index.js';
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
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new UsageError(`RESULTS.json "${file}" cannot be read (${code})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = lastStreamResult(text);
      if (parsed === undefined) {
        throw new UsageError(
          `RESULTS.json "${file}" is not JSON (save a result with --json or --json-stream)`,
        );
      }
    }
    const input = toReportInput(readResult(parsed, `RESULTS.json "${file}"`));
    const results = input.machine
      ? input
      : { ...input, machine: { ...describeMachine(), renderedHere: true } };
    // the input is read first (bad input is named before the destination), then the page
    const out = reserveOutput('out', values.out ?? defaultReportPath(file));
    const path = commitReport(out, results);
    io.stdout.write(`${path}\n`);
    return 0;
  },
});

/** `max --json-stream` output: one JSON object per line, the result last ({"event":"result"}). */
function lastStreamResult(text: string): unknown {
  const lines = text.trim().split('\n');
  try {
    const last = JSON.parse(lines.at(-1) ?? '') as { event?: string };
    if (last.event !== 'result') return undefined;
    const { event: _event, ...result } = last;
    return result;
  } catch {
    return undefined;
  }
}

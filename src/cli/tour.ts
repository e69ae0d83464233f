/**
 * `fourtuple` with no arguments: the tour. Runs every part that exists on loopback with
 * defaults that finish quickly, prints a short summary per part, and writes the report page.
 *
 * Adding a part: name it in PARTS, run it in `run` unless skipped, put its result on `results`
 * under the ReportInput key the page reads (src/report/types.ts), and print its summary.
 */
import { UsageError } from '../errors.js';
import { describeMachine, type ReportInput } from '../report/index.js';
import { internetTheory, theory } from '../theory/index.js';
import type { Command, ParsedValues } from './_command.js';
import { printJson } from './_output.js';
import { writeReportFile } from './_report.js';
import { formatTheory } from './theory.js';

/** The tour's parts, in the order they run; each can be skipped with --skip. */
export const PARTS = ['theory'] as const;
export type Part = (typeof PARTS)[number];

export const DEFAULT_REPORT = 'fourtuple-report.html';

/** --skip PART (repeatable, or comma-separated) as a set of known parts. */
export function skippedParts(values: ParsedValues): Set<Part> {
  const raw = values.skip;
  const given = (Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  for (const p of given) {
    if (!(PARTS as readonly string[]).includes(p)) {
      throw new UsageError(`--skip must be one of ${PARTS.join(', ')} (got "${p}")`, 'skip');
    }
  }
  return new Set(given as Part[]);
}

export const tourCommand: Command = {
  name: 'tour',
  summary: 'the whole answer for this machine (default when no command is given)',
  help: `Usage: fourtuple [tour] [--out FILE] [--skip PART] [--json]

Runs the tour: the theory for the seed's example (2 machines x 3 ports) and for the whole IPv4
address space. Prints a summary per part and writes the report page (one self-contained HTML
file), printing its path at the end.

Options:
  --out FILE    where to write the report page (default: ${DEFAULT_REPORT} here)
  --skip PART   leave a part out (repeatable or comma-separated): ${PARTS.join(', ')}`,
  options: {
    out: { type: 'string' },
    skip: { type: 'string', multiple: true },
  },
  async run({ values, io }) {
    const skip = skippedParts(values);
    const out = typeof values.out === 'string' ? values.out : DEFAULT_REPORT;
    if (out.trim() === '') throw new UsageError('--out needs a file name', 'out');
    const results: ReportInput = {
      machine: describeMachine(),
    };
    const say = (text: string): void => {
      if (!values.json) io.stdout.write(text);
    };

    if (!skip.has('theory')) {
      const seed = theory({ machines: 2n, ports: 3n });
      const ipv4 = internetTheory('ipv4');
      results.theory = { seed, ipv4 };
      say(`== theory: the seed's example ==\n${formatTheory(seed)}\n\n`);
      say(`== theory: the whole IPv4 space ==\n${formatTheory(ipv4, true)}\n\n`);
    }

    const path = writeReportFile('--out', out, results);
    if (values.json) {
      printJson(io, results);
      io.stderr.write(`report: ${path}\n`);
    } else {
      io.stdout.write(`report: ${path}\n`);
    }
    return 0;
  },
};

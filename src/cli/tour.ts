/**
 * `fourtuple` with no arguments: the tour. Runs every part on loopback with defaults that
 * finish in about a minute on a 2-core machine, prints a short summary per part (progress on
 * stderr while it runs, on a terminal), and writes the report page.
 *
 * Adding a part: name it in PARTS, run it in `run` unless skipped, put its result on `results`
 * (a TourResult, src/tour.ts; the report reads it by its kind), and print its summary.
 */
import { UsageError } from '../errors.js';
import { runExperiments } from '../experiments/index.js';
import { limits } from '../limits/index.js';
import { type ProveResult, prove } from '../proof/index.js';
import { describeMachine, toReportInput } from '../report/index.js';
import { tag } from '../result.js';
import { runMax } from '../scale/coordinator.js';
import { internetTheory, theory } from '../theory/index.js';
import type { TourResult } from '../tour.js';
import { defineCommand } from './_command.js';
import { groupDigits, printJson, wrap } from './_output.js';
import { writeReportFile } from './_report.js';
import { formatMax, progressLine } from './max.js';
import { formatTheory } from './theory.js';

/** The tour's parts, in the order they run; each can be skipped with --skip. */
export const PARTS = ['theory', 'demo', 'prove', 'limits', 'max'] as const;
export type Part = (typeof PARTS)[number];

export const DEFAULT_REPORT = 'fourtuple-report.html';

/** The proofs the tour builds: the seed's example, and one size up. */
export const TOUR_PROOFS = [
  { machines: 2, ports: 3 },
  { machines: 3, ports: 4 },
] as const;

/** The tour's `max` run: modest, so the whole tour stays near a minute. */
export const TOUR_MAX = { connections: 100_000, holdMs: 2000, durationMs: 30_000 } as const;

/** --skip PART (repeatable, or comma-separated) as a set of known parts. */
export function skippedParts(values: { skip?: string | string[] | undefined }): Set<Part> {
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

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export const tourCommand = defineCommand({
  name: 'tour',
  summary: 'the whole answer for this machine (default when no command is given)',
  description: `Runs the tour on loopback, in about a minute: the theory for the seed's example (2 machines x
3 ports) and for the whole IPv4 space; every demo experiment against the kernel; a proof by
construction for 2 x 3 and 3 x 4; this machine's limits (with a measured connection cost); and
a bounded \`max\` run (${groupDigits(TOUR_MAX.connections)} connections, held ${TOUR_MAX.holdMs / 1000} s, verified, torn down).
Prints a short summary per part and writes the report page (one self-contained HTML file),
printing its path at the end. Each part's own command has the full set of flags.`,
  epilog: `Exit code: 0 when every part came out as predicted, 1 when one did not (a demo differed, a
proof was not exact, a held connection was dead, or sockets were left behind).`,
  options: {
    out: {
      type: 'string',
      placeholder: 'FILE',
      field: false,
      default: DEFAULT_REPORT,
      description: 'where to write the report page',
    },
    skip: {
      type: 'string',
      multiple: true,
      placeholder: 'PART',
      field: false,
      description: `leave a part out (or several, comma-separated): ${PARTS.join(', ')}`,
    },
  },
  async run({ values, io, signal }) {
    const skip = skippedParts(values);
    if (skip.size === PARTS.length) {
      throw new UsageError(`--skip leaves nothing to run (parts: ${PARTS.join(', ')})`, 'skip');
    }
    const out = values.out;
    if (out.trim() === '') throw new UsageError('--out needs a file name', 'out');
    signal.throwIfAborted();
    const results: TourResult = { ...tag('tour'), machine: describeMachine() };
    const problems: string[] = [];
    const say = (text: string): void => {
      if (!values.json) io.stdout.write(text);
    };
    const progress = (text: string): void => {
      if (io.stderrIsTTY) io.stderr.write(`\r\x1b[2K${text}`);
    };
    const done = (): void => progress('');
    const heading = (text: string): void => say(`== ${text} ==\n`);

    if (!skip.has('theory')) {
      const seed = theory({ machines: 2n, ports: 3n });
      const ipv4 = internetTheory('ipv4');
      results.theory = { seed, ipv4 };
      heading("theory: the seed's example");
      say(`${formatTheory(seed)}\n\n`);
      heading('theory: the whole IPv4 space');
      say(`${formatTheory(ipv4, true)}\n\n`);
    }

    if (!skip.has('demo')) {
      progress('demo: running the experiments against the kernel...');
      const demo = await runExperiments({
        signal,
        onExperiment: (e) => progress(`demo: ${e.name}`),
      });
      done();
      results.experiments = demo;
      const s = demo.summary;
      heading('demo: the socket-reuse experiments, against the kernel');
      const width = Math.max(...demo.experiments.map((e) => e.name.length));
      for (const e of demo.experiments) {
        say(`  ${e.matches ? 'matches' : 'DIFFERS'}  ${e.name.padEnd(width)}  ${e.summary}\n`);
      }
      say(
        `${s.experiments} experiments in ${seconds(s.durationMs)}: ${s.matched} match the prediction${s.differed.length ? `; ${s.differed.length} DIFFER: ${s.differed.join(', ')}` : ', none differs'}. Details: \`fourtuple demo\`.\n\n`,
      );
      if (s.differed.length) problems.push(`demo: ${s.differed.join(', ')} differed`);
    }

    if (!skip.has('prove')) {
      heading('prove: every connection among n machines x m ports, built for real');
      const proofs: ProveResult[] = [];
      for (const size of TOUR_PROOFS) {
        progress(`prove: ${size.machines} x ${size.ports}...`);
        const r = await prove({ ...size, hosts: 'loopback', listConnections: true, signal });
        done();
        proofs.push(r);
        const n = size.machines * size.ports;
        say(
          `  ${size.machines} machines x ${size.ports} ports (N = ${n}): ${groupDigits(r.established)} established (${groupDigits(r.selfConnections)} self-connections); ` +
            `N(N+1)/2 = ${groupDigits((n * (n + 1)) / 2)}, (nm)^2 = ${groupDigits(n * n)}; every reverse and duplicate refused: ${Object.entries(
              r.attemptsRefused,
            )
              .map(([k, v]) => `${k} x${v}`)
              .join(', ')}; verdict: ${r.verdict}\n`,
        );
        if (r.verdict !== 'exact')
          problems.push(`prove ${size.machines}x${size.ports}: ${r.verdict}`);
      }
      results.proof = proofs;
      say('Details and the graph: `fourtuple prove --machines 2 --ports 3 --graph g.svg`.\n\n');
    }

    if (!skip.has('limits')) {
      progress('limits: reading, and measuring what one connection costs...');
      const r = await limits({ signal });
      done();
      results.limits = r;
      heading('limits: what stops this machine first');
      say(
        `${wrap(r.answer)}\nThe table and the command that raises each: \`fourtuple limits\`.\n\n`,
      );
    }

    if (!skip.has('max')) {
      const r = await runMax({ ...TOUR_MAX, signal }, (p) => progress(`max: ${progressLine(p)}`));
      done();
      signal.throwIfAborted();
      results.max = r;
      heading(
        `max: ${groupDigits(TOUR_MAX.connections)} connections opened, held, verified, torn down`,
      );
      say(`${formatMax(r)}\nAs many as the machine allows: \`fourtuple max\`.\n\n`);
      if (r.dead) problems.push(`max: ${r.dead} held connections were dead`);
      if (!r.sockstat.clean) problems.push('max: sockets were left behind');
    }

    const path = writeReportFile('--out', out, toReportInput(results));
    if (values.json) {
      printJson(io, results);
      io.stderr.write(`report: ${path}\n`);
    } else {
      if (problems.length) say(`Not as predicted: ${problems.join('; ')}\n`);
      io.stdout.write(`report: ${path}\n`);
    }
    return problems.length ? 1 : 0;
  },
});

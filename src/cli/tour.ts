/**
 * `fourtuple` with no arguments: the tour (src/tour.ts runs it). Prints a short summary per part
 * as each completes (progress on stderr while it runs, on a terminal), then writes the report
 * page, reserved before the run; an interrupted tour still writes the page of what completed.
 */
import { InterruptedError, UsageError } from '../errors.js';
import { toReportInput } from '../report/index.js';
import type { TlsRunFigures } from '../scale/coordinator.js';
import {
  TOUR_MAX,
  TOUR_PARTS,
  TOUR_TLS,
  type TourPart,
  type TourResult,
  tour,
  tourProblems,
} from '../tour.js';
import { formatBytes } from '../units.js';
import { defineCommand, type Io } from './_command.js';
import { groupDigits, printJson, table, wrap } from './_output.js';
import { commitReport, reserveOutput } from './_report.js';
import { formatMax, progressLine } from './max.js';
import { formatTheory } from './theory.js';

export { TOUR_MAX, TOUR_PROOFS, TOUR_TLS } from '../tour.js';

/** The tour's parts, in the order they run; each can be skipped with --skip. */
export const PARTS = TOUR_PARTS;
export type Part = TourPart;

export const DEFAULT_REPORT = 'fourtuple-report.html';

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

/**
 * The demo as the tour shows it: the seed's experiments one line each, every family of the port
 * rules one line (how many of its runs matched), so 129 runs read in a screen.
 */
function demoLines(experiments: NonNullable<TourResult['experiments']>['experiments']): string[] {
  const seed = new Set(experiments.filter((e) => e.of === undefined).map((e) => e.name));
  const families = new Map<string, { runs: number; matched: number; skipped: number }>();
  const rows: { family?: string; verdict: string; name: string; text: string }[] = [];
  for (const e of experiments) {
    if (e.of === undefined) {
      rows.push({ verdict: e.matches ? 'matches' : 'DIFFERS', name: e.name, text: e.summary });
      continue;
    }
    let f = families.get(e.of);
    if (!f) {
      f = { runs: 0, matched: 0, skipped: 0 };
      families.set(e.of, f);
      // a family named after a seed experiment holds its variants (the options switched)
      const name = seed.has(e.of) ? `${e.of} variants` : e.of;
      rows.push({ family: e.of, verdict: '', name, text: '' });
    }
    f.runs++;
    if (e.skipped !== undefined) f.skipped++;
    else if (e.matches) f.matched++;
  }
  for (const row of rows) {
    const f = row.family === undefined ? undefined : families.get(row.family);
    if (!f) continue;
    const ran = f.runs - f.skipped;
    row.verdict = f.matched === ran ? 'matches' : 'DIFFERS';
    row.text = `${f.matched} of ${ran} runs as predicted${f.skipped ? ` (${f.skipped} skipped)` : ''}`;
  }
  const width = Math.max(0, ...rows.map((r) => r.name.length));
  return rows.map((r) => `  ${r.verdict.padEnd(7)}  ${r.name.padEnd(width)}  ${r.text}\n`);
}

/** The summary of one completed part, as the terminal shows it. */
export function partSummary(part: Part, r: TourResult): string {
  const heading = (text: string): string => `== ${text} ==\n`;
  switch (part) {
    case 'theory': {
      const t = r.theory;
      if (!t) return '';
      return `${heading("theory: the seed's example")}${formatTheory(t.seed)}\n\n${heading('theory: the whole IPv4 space')}${formatTheory(t.ipv4, true, false)}\n(the same models as above, for every IPv4 address with 65,535 ports)\n\n`;
    }
    case 'demo': {
      const demo = r.experiments;
      if (!demo) return '';
      const s = demo.summary;
      const lines = demoLines(demo.experiments);
      return `${heading('demo: the socket-reuse experiments, against the kernel')}${lines.join('')}${s.experiments} experiments in ${seconds(s.durationMs)}: ${s.matched} match the prediction${s.differed.length ? `; ${s.differed.length} DIFFER: ${s.differed.join(', ')}` : ', none differs'}. Details: \`fourtuple demo\`.\n\n`;
    }
    case 'prove': {
      const lines = (r.proof ?? []).map((p) => {
        const n = Number(p.machines * p.ports);
        const refused = Object.entries(p.attemptsRefused)
          .map(([k, v]) => `${k} x${v}`)
          .join(', ');
        return `  ${p.machines} machines x ${p.ports} ports (N = ${n}): ${groupDigits(p.established)} established (${groupDigits(p.selfConnections)} self-connections); N(N+1)/2 = ${groupDigits((n * (n + 1)) / 2)}, (nm)^2 = ${groupDigits(n * n)}; every reverse and duplicate refused: ${refused}; verdict: ${p.verdict}\n`;
      });
      return `${heading('prove: every connection among n machines x m ports, built for real')}${lines.join('')}Details and the graph: \`fourtuple prove --machines 2 --ports 3 --graph g.svg\`.\n\n`;
    }
    case 'limits':
      if (!r.limits) return '';
      return `${heading('limits: what stops this machine first')}${wrap(r.limits.answer)}\nThe table and the command that raises each: \`fourtuple limits\`.\n\n`;
    case 'max':
      if (!r.max) return '';
      return `${heading(`max: ${groupDigits(TOUR_MAX.connections)} connections opened, held, verified, torn down`)}${formatMax(r.max)}\nAs many as the machine allows: \`fourtuple max\`.\n\n`;
    case 'tls':
      return r.tls
        ? `${heading('tls: what a TLS handshake and a held TLS connection cost')}${tlsSummary(r.tls)}\n\n`
        : '';
  }
}

/** The tour's TLS runs, one line per side and kind against plain TCP; or why it was skipped. */
export function tlsSummary(t: NonNullable<TourResult['tls']>): string {
  if (t.skipped) return `skipped: ${t.skipped}`;
  const us = (n: number): string => `${groupDigits(n)} us`;
  const rows: string[][] = [];
  const withBase = t.runs.find((m) => m.tls?.baseline)?.tls;
  const row = (label: string, f: TlsRunFigures, wall: number): string[] => [
    label,
    `${us(f.server.cpuUsPerHandshake)} / ${us(f.client.cpuUsPerHandshake)}`,
    `${formatBytes(f.server.pssBytesPerConnection)} / ${formatBytes(f.client.pssBytesPerConnection)}`,
    `${groupDigits(wall)}/s`,
  ];
  if (withBase?.baseline) {
    const wall = withBase.walls.cpu.baselineServer?.handshakesPerSec ?? 0;
    rows.push(row('plain TCP', withBase.baseline, wall));
  }
  for (const m of t.runs) {
    if (m.tls)
      rows.push(
        row(`TLS ${m.tls.cert} (${m.tls.key})`, m.tls.run, m.tls.walls.cpu.server.handshakesPerSec),
      );
  }
  return [
    table(
      [
        '',
        'CPU per handshake server / client',
        'PSS per conn server / client',
        `CPU wall (${t.runs[0]?.tls?.walls.cores ?? '?'} cores)`,
      ],
      rows,
    ),
    `${groupDigits(TOUR_TLS.connections)} connections each, servers and clients in separate processes, on loopback. The walls for this machine: \`fourtuple limits --tls\`; more connections: \`fourtuple max --tls\`.`,
  ].join('\n');
}

/** Progress on stderr (a terminal only) and each part's summary on stdout (unless --json). */
function tourPrinter(io: Io, json: boolean) {
  return (e: Parameters<NonNullable<Parameters<typeof tour>[1]>>[0]): void => {
    if (e.type === 'progress') {
      if (io.stderrIsTTY) {
        io.stderr.write(`\r\x1b[2K${e.max ? `${e.part}: ${progressLine(e.max)}` : e.text}`);
      }
      return;
    }
    if (io.stderrIsTTY) io.stderr.write('\r\x1b[2K');
    if (!json) io.stdout.write(partSummary(e.part, e.result));
  };
}

export const tourCommand = defineCommand({
  name: 'tour',
  summary: 'the whole answer for this machine (default when no command is given)',
  description: `Runs the tour on loopback, in about a minute: the theory for the seed's example (2 machines x
3 ports) and for the whole IPv4 space; every demo experiment against the kernel; a proof by
construction for 2 x 3 and 3 x 4; this machine's limits (with a measured connection cost); and
a bounded \`max\` run (${groupDigits(TOUR_MAX.connections)} connections, held ${TOUR_MAX.holdMs / 1000} s, verified, torn down);
and a short TLS part (${groupDigits(TOUR_TLS.connections)} handshakes with each of ${TOUR_TLS.certs.join(' and ')}, beside plain TCP:
CPU per handshake and memory per connection per side; skipped, saying why, without openssl).
Prints a short summary per part and writes the report page (one self-contained HTML file),
printing its path at the end. Interrupted, it writes the page of the parts that completed,
marked as cut short. Each part's own command has the full set of flags.`,
  epilog: `Exit code: 0 when every part came out as predicted, 1 when one did not (a demo differed, a
proof was not exact, a held connection was dead, or sockets were left behind), 130 / 143 when
interrupted (the page of what completed is still written).`,
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
    const out = reserveOutput('out', values.out);
    signal.throwIfAborted();
    const results = await tour({ skip, signal }, tourPrinter(io, values.json));
    const problems = tourProblems(results);
    if (values.json) printJson(io, results);
    else if (results.cutShort) io.stdout.write(`Cut short: ${results.cutShort.reason}.\n`);
    else if (problems.length) io.stdout.write(`Not as predicted: ${problems.join('; ')}\n`);
    // the results are on stdout before the page is written: a failed write never loses the run
    const input = toReportInput(results);
    const path = commitReport(out, input);
    io[values.json ? 'stderr' : 'stdout'].write(`report: ${path}\n`);
    if (results.cutShort) {
      const why = signal.reason instanceof InterruptedError ? signal.reason : undefined;
      if (why?.signal !== 'SIGPIPE') io.stderr.write('fourtuple tour: interrupted\n');
      return why?.exitCode ?? 130;
    }
    return problems.length ? 1 : 0;
  },
});

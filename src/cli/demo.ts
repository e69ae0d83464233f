/** `fourtuple demo`: the classic socket-reuse experiments, predicted, then run against the kernel. */
import {
  BASE_PORT_RANGE,
  CATALOGUE,
  catalogueFamilies,
  describeTopology,
  type ExperimentResult,
  FAMILY_SUMMARIES,
  type HostsMode,
  PORT_SPAN,
  runExperiments,
  type Step,
  selectExperiments,
} from '../experiments/index.js';
import { canUseNetns, netnsUnavailable } from '../hosts/support.js';
import { defineCommand } from './_command.js';
import { printJson, wrap } from './_output.js';
import { REPORT_OPTION, writeCommandReport } from './_report.js';

function describeStep(s: Step): string {
  const where =
    s.op === 'connect' || s.op === 'echo' || s.op === 'accept' || (s.op === 'close' && s.to)
      ? `${s.from ?? '(unbound)'} -> ${s.to ?? ''}`
      : s.op === 'observe'
        ? s.to
          ? `${s.from ?? ''} <-> ${s.to}`
          : (s.from ?? '')
        : (s.from ?? '');
  const opts =
    s.op === 'bind' || s.op === 'setsockopt' || s.op === 'sysctl'
      ? ` [${s.options?.length ? s.options.join(', ') : 'no options'}]`
      : '';
  return `${where}${opts}`.trim();
}

function formatResult(s: Step): string {
  if (s.result === 'ok') return s.detail ? `ok (${s.detail})` : 'ok';
  return `${s.result}${s.meaning ? `: ${s.meaning}` : ''}${s.detail && s.result !== 'TIME_WAIT' ? ` (${s.detail})` : ''}`;
}

function outcomeLine(outcomes: Record<string, string>, established: number): string {
  const parts = Object.entries(outcomes).map(([id, o]) => `${id} ${o}`);
  return `${parts.join(', ')}; ${established} established`;
}

/** The human rendering of one experiment's result. */
export function formatExperiment(r: ExperimentResult): string {
  const lines: string[] = [];
  lines.push(`== ${r.name}: ${r.summary}${r.hosts === 'netns' ? ' (network namespaces)' : ''}`);
  for (const t of r.topology) lines.push(`   ${t}`);
  lines.push('');
  if (r.skipped !== undefined) {
    lines.push(`   predicted: ${r.predictionText}`);
    lines.push(`   verdict:   skipped, not run: ${r.skipped}`);
    return lines.join('\n');
  }
  const opWidth = Math.max(...r.steps.map((s) => s.op.length));
  const whereWidth = Math.min(60, Math.max(...r.steps.map((s) => describeStep(s).length)));
  for (const s of r.steps) {
    lines.push(
      `   ${s.socket.padEnd(3)} ${s.op.padEnd(opWidth)}  ${describeStep(s).padEnd(whereWidth)}  ${formatResult(s)}`,
    );
  }
  lines.push('');
  const p = r.predicted;
  lines.push(`   predicted: ${r.predictionText}`);
  lines.push(`              ${outcomeLine(p.outcomes, p.established)}`);
  lines.push(`   observed:  ${outcomeLine(r.observed.outcomes, r.observed.established)}`);
  if (p.samePort || p.differentPort) {
    const ports = Object.entries(r.observed.sourcePorts)
      .map(([id, port]) => `${id} :${port}`)
      .join(', ');
    lines.push(`              source ports: ${ports}`);
  }
  lines.push(
    `   verdict:   ${r.matches ? 'matches' : 'DIFFERS from the prediction: the kernel is the judge'}`,
  );
  if (r.timeWaitPort !== undefined) {
    lines.push(
      `   (127.0.0.1:${r.timeWaitPort} stays in TIME_WAIT for 60 s; the next run picks another port)`,
    );
  }
  lines.push(wrap(`why: ${r.explanation}`, 92, '   '));
  return lines.join('\n');
}

/**
 * The `--list` rendering: each family on a line of its own ("name (count): what it shows"), then
 * one indented line per experiment, with its topology on symbolic ports under --verbose.
 */
export function formatList(verbose = false): string {
  const lines: string[] = [];
  for (const { family, experiments } of catalogueFamilies()) {
    const width = Math.max(...experiments.map((e) => e.name.length));
    const first = experiments[0]!;
    const about =
      FAMILY_SUMMARIES[family] ?? (first.name === family ? first.summary : `variants of ${family}`);
    lines.push(`${family} (${experiments.length}): ${about}`);
    for (const e of experiments) {
      lines.push(`  ${e.name.padEnd(width)}  ${e.summary}`);
      if (verbose) {
        for (const t of describeTopology(e)) lines.push(`${' '.repeat(width + 4)}${t}`);
      }
    }
  }
  return lines.join('\n');
}

/** The distinct reasons experiments were skipped, joined. */
function skipReasons(experiments: readonly ExperimentResult[]): string {
  return [...new Set(experiments.flatMap((e) => (e.skipped ? [e.skipped] : [])))].join('; ');
}

/** The experiments' own range for their base port (the library's; see experiments/setup.ts). */
const BASE_PORT = BASE_PORT_RANGE;

export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'the classic socket-reuse experiments: predicted, then run against the kernel',
  description: `Runs the classic experiments (one source port to two destinations, with and without
SO_REUSEADDR, the same 4-tuple twice, a listener's port as a source, bind(ip, 0) against
IP_BIND_ADDRESS_NO_PORT, self-connect, IPv6, a listener restart over TIME_WAIT) against this
kernel, then the port rules: SO_REUSEPORT on the connectors, the order of a connector and a
listener on one port, and what happens when ports run out (the bind matrix, connect
strategies, the per-destination ceiling). For each: every syscall with its addresses and ok or
the errno and its meaning, then our prediction, what the kernel did, and the verdict. Only
loopback addresses are used (127.0.0.0/8, ::1); every socket is closed at the end, with an RST
so no TIME_WAIT is left, except the one TIME_WAIT each listener-restart experiment makes on
purpose on a fresh port. The experiments where ports run out run in a network namespace of
their own, whose ephemeral range (and ip_autobind_reuse) they set; it is removed at the end.
They need root: without it they are listed as skipped, with the reason.`,
  epilog: `Exit code 0 when every observation matches its prediction, 1 when any differs.

Examples:
  fourtuple demo same-4-tuple self-connect
  fourtuple demo exhausted-bind port-ceiling`,
  args: {
    usage: '[NAME...]',
    description: 'run only these experiments, or whole families by name (see --list)',
  },
  options: {
    list: {
      type: 'boolean',
      field: false,
      description: 'list the experiments by family, one line each (with --verbose: their topology)',
    },
    verbose: { type: 'boolean', field: false, description: 'with --list: the sockets of each' },
    'base-port': {
      type: 'int',
      ...BASE_PORT,
      placeholder: 'P',
      defaultText: 'a free block below 32768 found at run time',
      description: `first of the ${PORT_SPAN + 1} ports used, P to P+${PORT_SPAN}`,
    },
    hosts: {
      type: 'choice',
      choices: ['loopback', 'netns'],
      default: 'loopback',
      description:
        'netns runs the multi-IP experiments (diff-ip, diff-source-ip and their variants) ' +
        'across separate network namespaces; needs root',
    },
    ...REPORT_OPTION,
  },
  async run({ values, positionals, io, signal }) {
    const names = positionals.length ? positionals : undefined;
    selectExperiments(names); // an unknown name is a usage error, before anything runs
    const report = values.report;
    const hosts: HostsMode = values.hosts;
    const basePort = values['base-port'];
    if (values.list) {
      if (values.json) printJson(io, CATALOGUE);
      else io.stdout.write(`${formatList(values.verbose)}\n`);
      return 0;
    }
    if (hosts === 'netns') {
      const support = await canUseNetns();
      if (!support.ok) throw netnsUnavailable(support.reason);
    }
    let first = true;
    const r = await runExperiments({
      ...(names ? { names } : {}),
      ...(basePort !== undefined ? { basePort } : {}),
      hosts,
      signal,
      onExperiment: values.json
        ? undefined
        : (e) => {
            io.stdout.write(`${first ? '' : '\n'}${formatExperiment(e)}\n`);
            first = false;
          },
    });
    const s = r.summary;
    if (values.json) printJson(io, r);
    else {
      const tw = s.timeWaitPorts.length
        ? `; TIME_WAIT left on purpose on 127.0.0.1:${s.timeWaitPorts.join(', :')} (ages out in 60 s)`
        : '';
      const skipped = s.skipped.length
        ? `; ${s.skipped.length} skipped (${skipReasons(r.experiments)})`
        : '';
      const ra = s.rangeAgreement;
      const agree = ra
        ? `the per-socket IP_LOCAL_PORT_RANGE runs agree with the namespace-wide ones on ${ra.agree} of ${ra.of}${ra.differ.length ? ` (not on ${ra.differ.join(', ')})` : ''}\n`
        : '';
      io.stdout.write(
        `\n${s.experiments} experiments in ${s.durationMs} ms on ports ${s.basePort}-${s.basePort + 3}${tw}\n` +
          `${s.matched} match the prediction${s.differed.length ? `; ${s.differed.length} DIFFER: ${s.differed.join(', ')}` : ', none differs'}${skipped}\n${agree}`,
      );
    }
    writeCommandReport(report, { experiments: r }, io);
    return s.differed.length === 0 ? 0 : 1;
  },
});

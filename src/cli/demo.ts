/** `fourtuple demo`: the classic socket-reuse experiments, predicted, then run against the kernel. */
import {
  BASE_PORT_RANGE,
  CATALOGUE,
  describeTopology,
  type ExperimentResult,
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
        ? `${s.from ?? ''} <-> ${s.to ?? ''}`
        : (s.from ?? '');
  const opts =
    s.op === 'bind' || s.op === 'setsockopt'
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

/** The `--list` rendering: one line per experiment, with its topology on symbolic ports. */
export function formatList(verbose = false): string {
  const width = Math.max(...CATALOGUE.map((e) => e.name.length));
  return CATALOGUE.map((e) => {
    const head = `${e.name.padEnd(width)}  ${e.summary}`;
    if (!verbose) return head;
    return [head, ...describeTopology(e).map((t) => `${' '.repeat(width + 2)}${t}`)].join('\n');
  }).join('\n');
}

/** The experiments' own range for their base port (the library's; see experiments/setup.ts). */
const BASE_PORT = BASE_PORT_RANGE;

export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'the classic socket-reuse experiments: predicted, then run against the kernel',
  description: `Runs the classic experiments (one source port to two destinations, with and without
SO_REUSEADDR, the same 4-tuple twice, a listener's port as a source, bind(ip, 0) against
IP_BIND_ADDRESS_NO_PORT, self-connect, IPv6, a listener restart over TIME_WAIT) against this
kernel. For each: every syscall with its addresses and ok or the errno and its meaning, then
our prediction, what the kernel did, and the verdict. Only loopback addresses are used
(127.0.0.0/8, ::1); every socket is closed at the end, with an RST so no TIME_WAIT is left,
except the one TIME_WAIT each listener-restart experiment makes on purpose on a fresh port.`,
  epilog: `Exit code 0 when every observation matches its prediction, 1 when any differs.

Example:
  fourtuple demo same-4-tuple self-connect`,
  args: { usage: '[NAME...]', description: 'run only these experiments (see --list)' },
  options: {
    list: {
      type: 'boolean',
      field: false,
      description: 'list the experiments, one line each (with --verbose: their topology)',
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
      io.stdout.write(
        `\n${s.experiments} experiments in ${s.durationMs} ms on ports ${s.basePort}-${s.basePort + 3}${tw}\n` +
          `${s.matched} match the prediction${s.differed.length ? `; ${s.differed.length} DIFFER: ${s.differed.join(', ')}` : ', none differs'}\n`,
      );
    }
    writeCommandReport(report, { experiments: r }, io);
    return s.differed.length === 0 ? 0 : 1;
  },
});

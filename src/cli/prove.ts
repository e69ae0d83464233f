/** `fourtuple prove`: build every possible connection among n machines x m ports, count them. */
import { UsageError } from '../errors.js';
import type { ReservedFile } from '../files.js';
import { canUseNetns, type HostsKind, netnsUnavailable } from '../hosts/index.js';
import { FREE_PORT_RANGE } from '../hosts/ports.js';
import { proofGraph } from '../proof/graph.js';
import {
  PROVE_LIMITS,
  type ProveProgress,
  type ProveResult,
  prove,
  proveBudget,
} from '../proof/prove.js';
import { errnoMeaning } from '../sockets/errno.js';
import { MODEL_FORMULA, MODEL_LABEL } from '../theory/models.js';
import { defineCommand } from './_command.js';
import { groupDigits, printJson, table, wrap } from './_output.js';
import { commitOutput, REPORT_OPTION, reserveOutput, writeCommandReport } from './_report.js';

const g = groupDigits;

function errnoList(map: Record<string, number>): string {
  const parts = Object.entries(map).map(([e, n]) => `${e} x${g(n)}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

/** The human rendering of a proof. */
export function formatProof(r: ProveResult): string {
  const n = r.machines;
  const m = r.ports;
  const first = r.machineList[0]?.address ?? '';
  const last = r.machineList[r.machineList.length - 1]?.address ?? '';
  const where =
    r.hosts === 'netns'
      ? `${n} network namespace(s), ${first}${n > 1n ? ` to ${last}` : ''}`
      : `loopback, ${first}${n > 1n ? ` to ${last}` : ''}`;
  const pairs = r.established - r.selfConnections;
  const est = r.established;
  const vs = (v: bigint): string =>
    v === est ? '= established' : v > est ? `${g(v - est)} more` : `${g(est - v)} fewer`;
  const shown = [
    'socketAnalogy',
    'serverBest',
    'exactWithoutSelf',
    'exact',
    'orderedTuples',
  ] as const;
  const rows: [string, string, bigint][] = shown.map((k) => [
    MODEL_LABEL[k],
    MODEL_FORMULA[k],
    r.models[k],
  ]);
  const t = r.timings;
  const refused = Object.keys(r.attemptsRefused);
  const lines = [
    `${n} machine(s) x ${m} port(s) = ${r.endpoints} endpoints (N) on ${where}, ports ${r.basePort}-${r.basePort + Number(m) - 1}`,
    'Every endpoint listens and connects from its own ip:port (SO_REUSEADDR + SO_REUSEPORT).',
    '',
    `established  ${g(est)} connections: ${g(pairs)} between distinct endpoints (connected and accepted), ${g(r.selfConnections)} self-connections; ${g(r.betweenMachines)} between machines`,
    `connected    ${g(r.connected)} connecting sockets; accepted ${g(r.accepted)}; failed connects: ${errnoList(r.connectFailures)}`,
    `4-tuples     ${r.distinctTuples ? `all distinct; every accepted socket is the far end of exactly one connection` : 'NOT all distinct (see below)'}`,
    '',
    table(
      ['model', 'formula', 'connections', 'vs established'],
      rows.map(([label, formula, v]) => [label, formula, g(v), vs(v)]),
      ['left', 'left', 'right', 'left'],
    ),
    '',
    'One more of every kind:',
    `  ${g(r.attempts.reverse.tried)} reverse directions (B:q -> A:p for each A:p -> B:q): ${errnoList(r.attempts.reverse.refused)}${r.attempts.reverse.succeeded ? `, ${r.attempts.reverse.succeeded} succeeded` : ''}`,
    `  ${g(r.attempts.duplicate.tried)} duplicates (A:p -> B:q again): ${errnoList(r.attempts.duplicate.refused)}${r.attempts.duplicate.succeeded ? `, ${r.attempts.duplicate.succeeded} succeeded` : ''}`,
    ...refused.map((e) => `  ${e}: ${errnoMeaning(e)}`),
    '',
  ];
  if (r.verdict === 'exact') {
    lines.push(
      wrap(
        `verdict: exact. ${g(est)} = N(N+1)/2 connections at once, and not one more: every reverse ` +
          `direction and every duplicate was refused. The popular (nm)^2 = ${g(r.models.orderedTuples)} ` +
          'counts each connection twice (once from each end) and misses the self-connections.',
      ),
    );
  } else {
    lines.push(
      r.verdict === 'error'
        ? 'verdict: error (something failed that the proof cannot count as a refusal)'
        : 'verdict: mismatch',
    );
    for (const d of r.differences) lines.push(`  - ${d}`);
  }
  lines.push(
    '',
    `time: ${g(t.totalMs)} ms (hosts ${t.hostsMs}, listen ${t.listenMs}, connect ${t.connectMs}, accept ${t.acceptMs}, verify ${t.verifyMs}, extra attempts ${t.attemptsMs}, close ${t.closeMs}); ${g(r.descriptors.needed)} of ${g(r.descriptors.limit)} descriptors`,
  );
  return lines.join('\n');
}

const PHASE_LABEL: Record<ProveProgress['phase'], string> = {
  hosts: 'creating machines',
  listen: 'listening',
  connect: 'connecting',
  accept: 'accepting',
  verify: 'checking 4-tuples',
  attempts: 'trying one more of each',
  close: 'closing',
};

/** An .svg path for --graph. */
/** --graph FILE.svg, reserved before the run (see _report.ts). */
function svgPath(text: string, flag: string): ReservedFile {
  if (!text.endsWith('.svg')) {
    throw new UsageError(`--${flag} must name an .svg file (got "${text}")`, flag);
  }
  return reserveOutput(flag, text, 'an .svg file name');
}

export const proveCommand = defineCommand({
  name: 'prove',
  summary: 'build every possible connection among n machines x m ports, and show one more fails',
  description: `Proves the exact count by construction on a real network stack. Every endpoint (machine k's
address, port P+j) listens; for every unordered pair of endpoints one side connects to the
other from its own ip:port, and every endpoint connects to itself (SO_REUSEADDR and
SO_REUSEPORT on every socket). The connections are counted on both sides and their 4-tuples
checked; then every reverse direction and a duplicate of every connection is tried, and each
failure is reported by errno. Everything is closed with an RST and the machines are removed.

N x M endpoints need (NM)^2 + NM file descriptors in this one process: with RLIMIT_NOFILE
20000 that is up to about 140 endpoints (refused beyond, with the numbers).

Hosts: loopback (the default, even as root: it needs nothing and is fastest): machine k is
127.0.0.(k+1) on this kernel; netns: machine k is a network namespace with 198.18.0.(k+1), all
on one bridge (needs root; created for the run and removed after it, also on Ctrl-C).`,
  epilog: `Exit status: 0 when the count is exact and every extra attempt failed, 1 otherwise.

Example:
  fourtuple prove --machines 2 --ports 3      # 21 established; 15 reverse + 21 duplicates refused`,
  options: {
    hosts: {
      type: 'choice',
      choices: ['loopback', 'netns'],
      default: 'loopback',
      description: 'what a machine is: a loopback address or a network namespace',
    },
    machines: {
      type: 'int',
      min: PROVE_LIMITS.machines.loopback.min,
      max: {
        text: `${PROVE_LIMITS.machines.loopback.max} (${PROVE_LIMITS.machines.netns.max} with --hosts netns)`,
        of: (v) => PROVE_LIMITS.machines[v.hosts as HostsKind].max,
      },
      short: 'n',
      required: true,
      description: 'machines',
    },
    ports: {
      type: 'int',
      ...PROVE_LIMITS.ports,
      short: 'm',
      placeholder: 'M',
      required: true,
      description: 'ports per machine',
    },
    'base-port': {
      type: 'int',
      min: PROVE_LIMITS.basePort.min,
      max: {
        text: `${PROVE_LIMITS.basePort.max + 1} - M`,
        of: (v) => PROVE_LIMITS.basePort.max + 1 - Number(v.ports),
      },
      placeholder: 'P',
      defaultText: `a block free on every machine, found at run time between ${FREE_PORT_RANGE.low} and ${FREE_PORT_RANGE.high}`,
      description: 'first port',
    },
    graph: {
      type: 'custom',
      placeholder: 'FILE',
      accepts: 'an .svg file name',
      field: false,
      description: 'also draw the connections as an SVG picture (readable up to 64 endpoints)',
      parse: svgPath,
    },
    ...REPORT_OPTION,
  },
  async run({ values, io, signal }) {
    const { hosts, machines, ports, graph, report } = values;
    const basePort = values['base-port'];
    const budget = proveBudget(machines, ports);
    if (!budget.ok) throw new UsageError(`cannot prove ${machines} x ${ports}: ${budget.reason}`);
    if (hosts === 'netns') {
      const support = await canUseNetns();
      if (!support.ok) throw netnsUnavailable(support.reason);
    }
    let lastPhase = '';
    const onProgress = io.stderrIsTTY
      ? (p: ProveProgress): void => {
          const label = PHASE_LABEL[p.phase];
          if (label === lastPhase && p.done !== p.total && p.done !== 0) {
            io.stderr.write(`\r${label}: ${g(p.done)}/${g(p.total)}   `);
            return;
          }
          lastPhase = label;
          io.stderr.write(`\r\x1b[K${label}${p.total > 1 ? `: ${g(p.done)}/${g(p.total)}` : ''}`);
          if (p.phase === 'close' && p.done === p.total) io.stderr.write('\r\x1b[K');
        }
      : undefined;
    const r = await prove({
      machines,
      ports,
      hosts,
      ...(basePort !== undefined ? { basePort } : {}),
      ...(graph !== undefined || report !== undefined ? { listConnections: true } : {}),
      ...(onProgress ? { onProgress } : {}),
      signal,
    });
    if (values.json) printJson(io, r);
    else io.stdout.write(`${formatProof(r)}\n`);
    // the result is on stdout before any file is written: a failed write never loses the run
    if (graph !== undefined) {
      const path = commitOutput(graph, proofGraph({ ...r, connections: r.connections ?? [] }));
      const line = `graph: ${path} (${r.endpoints} endpoints, ${g(r.established)} connections)\n`;
      if (values.json) io.stderr.write(line);
      else io.stdout.write(line);
    }
    writeCommandReport(report, { proof: r }, io);
    return r.verdict === 'exact' ? 0 : 1;
  },
});

/** `fourtuple theory`: every model's count, exact, with its derivation. */

import { UsageError } from '../errors.js';
import {
  type AddressFamily,
  DOUBLE_COUNT_EXPLANATION,
  internetTheory,
  MODEL_DERIVATION,
  MODEL_LABEL,
  MODEL_ORDER,
  type TheoryResult,
  theory,
  toScientific,
  USABLE_PORTS,
} from '../theory/index.js';
import { conflicts, defineCommand } from './_command.js';
import { groupDigits, printJson, table, wrap } from './_output.js';
import { REPORT_OPTION, writeCommandReport } from './_report.js';
import { requireOption } from './_spec.js';

/** Abstract counts accept huge values; the bound only refuses absurd input. */
const MACHINES = { min: 1n, max: 10n ** 40n };
const IPS = { min: 1n, max: 2n ** 128n };
const PORTS = { min: 1n, max: USABLE_PORTS };

/** The human rendering of a theory result (also used by the tour). */
/**
 * The human rendering of a theory result (also used by the tour). `explain: false` leaves out the
 * derivations and the paragraphs, for a second table right after a first that has them.
 */
export function formatTheory(r: TheoryResult, scientific = false, explain = true): string {
  const rows = MODEL_ORDER.map((k) => {
    const v = r.models[k];
    return [MODEL_LABEL[k], groupDigits(v), ...(scientific ? [toScientific(v, 4)] : [])];
  });
  const head = `${groupDigits(r.machines)} machines x ${groupDigits(r.ipsPerMachine)} IP(s) x ${groupDigits(r.ports)} ports = ${groupDigits(r.endpoints)} endpoints (N)`;
  const headers = ['model', 'connections', ...(scientific ? ['approx'] : [])];
  const width = Math.max(...MODEL_ORDER.map((k) => MODEL_LABEL[k].length));
  const derivations = MODEL_ORDER.map(
    (k) => `  ${MODEL_LABEL[k].padEnd(width)}  ${MODEL_DERIVATION[k]}`,
  );
  const align: ('left' | 'right')[] = ['left', 'right', ...(scientific ? ['right' as const] : [])];
  const pd = r.perDestination;
  if (!explain) return [head, '', table(headers, rows, align)].join('\n');
  return [
    head,
    '',
    table(headers, rows, align),
    '',
    'How each is counted (N endpoints, n machines, E = N/n endpoints per machine):',
    ...derivations,
    '',
    wrap(DOUBLE_COUNT_EXPLANATION),
    '',
    wrap(
      `In practice, one source IP reaches one destination ip:port at most ${groupDigits(pd.connections)} times ` +
        `(ephemeral ports ${pd.low}-${pd.high}, from ${pd.source}).`,
    ),
  ].join('\n');
}

export const theoryCommand = defineCommand({
  name: 'theory',
  summary: 'exact counts of TCP connections among n machines x m ports, every model',
  description: `Counts the TCP connections n machines with m ports each can hold at once, under every model
that circulates, exactly (any size), with a one-line derivation for each. With --internet:
the whole address space, every address a machine with 65535 ports.`,
  epilog: `Examples:
  fourtuple theory --machines 2 --ports 3      # exact: 21, popular 4-tuple answer: 36
  fourtuple theory --internet --family ipv6`,
  options: {
    machines: {
      type: 'bigint',
      ...MACHINES,
      short: 'n',
      required: 'unless --internet',
      description: 'machines',
    },
    ports: {
      type: 'bigint',
      ...PORTS,
      short: 'm',
      placeholder: 'M',
      required: 'unless --internet',
      description: 'ports per IP address',
    },
    'ips-per-machine': {
      type: 'bigint',
      ...IPS,
      default: 1n,
      description: 'IP addresses per machine',
    },
    internet: {
      type: 'boolean',
      field: false,
      description: 'the whole address space: every address a machine with 65535 ports',
    },
    family: {
      type: 'choice',
      choices: ['ipv4', 'ipv6'],
      default: 'ipv4',
      description: 'with --internet: ipv4 has 2^32 addresses, ipv6 2^128',
    },
    ...REPORT_OPTION,
  },
  async run(ctx) {
    const { values, io, given } = ctx;
    const report = values.report;
    if (values.internet) {
      conflicts(ctx, 'internet', 'machines');
      conflicts(ctx, 'internet', 'ports');
      conflicts(ctx, 'internet', 'ips-per-machine');
      const family: AddressFamily = values.family;
      const r = internetTheory(family);
      if (values.json) printJson(io, r);
      else io.stdout.write(`The whole ${family} address space:\n${formatTheory(r, true)}\n`);
      writeCommandReport(report, { theory: r }, io);
      return 0;
    }
    if (given.has('family')) {
      throw new UsageError('--family goes with --internet (the whole address space)', 'family');
    }
    const machines = requireOption(ctx, 'machines');
    const ports = requireOption(ctx, 'ports');
    const r = theory({ machines, ports, ipsPerMachine: values['ips-per-machine'] });
    if (values.json) printJson(io, r);
    else io.stdout.write(`${formatTheory(r)}\n`);
    writeCommandReport(report, { theory: r }, io);
    return 0;
  },
});

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
} from '../theory/index.js';
import { bigIntFlag, choiceFlag, conflicts } from './_args.js';
import type { Command } from './_command.js';
import { groupDigits, printJson, table, wrap } from './_output.js';
import { REPORT_OPTION, reportFlag, writeCommandReport } from './_report.js';

/** Abstract counts accept huge values; the bound only refuses absurd input. */
const MACHINES = { min: 1n, max: 10n ** 40n };
const IPS = { min: 1n, max: 2n ** 128n };
const PORTS = { min: 1n, max: 65535n };

/** The human rendering of a theory result (also used by the tour). */
export function formatTheory(r: TheoryResult, scientific = false): string {
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

export const theoryCommand: Command = {
  name: 'theory',
  summary: 'exact counts of TCP connections among n machines x m ports, every model',
  help: `Usage: fourtuple theory --machines N --ports M [--ips-per-machine K] [--json]
       fourtuple theory --internet [--family ipv4|ipv6] [--json]

Counts the TCP connections n machines with m ports each can hold at once, under every model
that circulates, exactly (any size), with a one-line derivation for each.

Options:
  --machines N         machines, 1 to 10^40
  --ports M            ports per IP address, 1 to 65535
  --ips-per-machine K  IP addresses per machine, 1 to 2^128 (default 1)
  --internet           the whole address space: every address a machine with 65535 ports
  --family F           with --internet: ipv4 (2^32 addresses, default) or ipv6 (2^128)

Example:
  fourtuple theory --machines 2 --ports 3      # exact: 21, popular 4-tuple answer: 36`,
  options: {
    machines: { type: 'string', short: 'n' },
    ports: { type: 'string', short: 'm' },
    'ips-per-machine': { type: 'string' },
    internet: { type: 'boolean' },
    family: { type: 'string' },
    ...REPORT_OPTION,
  },
  async run({ values, io }) {
    const report = reportFlag(values);
    if (values.internet) {
      conflicts(values, 'internet', 'machines');
      conflicts(values, 'internet', 'ports');
      conflicts(values, 'internet', 'ips-per-machine');
      const family = choiceFlag<AddressFamily>(values, 'family', ['ipv4', 'ipv6'], 'ipv4');
      const r = internetTheory(family);
      if (values.json) printJson(io, r);
      else io.stdout.write(`The whole ${family} address space:\n${formatTheory(r, true)}\n`);
      writeCommandReport(report, { theory: r }, io);
      return 0;
    }
    if (values.family !== undefined) {
      choiceFlag(values, 'family', ['ipv4', 'ipv6'], 'ipv4');
      throw new UsageError('--family goes with --internet (the whole address space)', 'family');
    }
    const machines = bigIntFlag(values, 'machines', MACHINES);
    const ports = bigIntFlag(values, 'ports', PORTS);
    const ipsPerMachine = bigIntFlag(values, 'ips-per-machine', IPS, 1n);
    const r = theory({ machines, ports, ipsPerMachine });
    if (values.json) printJson(io, r);
    else io.stdout.write(`${formatTheory(r)}\n`);
    writeCommandReport(report, { theory: r }, io);
    return 0;
  },
};

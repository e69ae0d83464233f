/**
 * `fourtuple` with no arguments: the tour. Runs every part that exists on loopback with
 * defaults that finish quickly, and prints a short summary per part.
 */
import { internetTheory, theory } from '../theory/index.js';
import type { Command } from './_command.js';
import { printJson } from './_output.js';
import { formatTheory } from './theory.js';

export const tourCommand: Command = {
  name: 'tour',
  summary: 'the whole answer for this machine (default when no command is given)',
  help: `Usage: fourtuple [tour] [--json]

Runs the tour: the theory for the seed's example (2 machines x 3 ports) and for the whole IPv4
address space.`,
  options: {},
  async run({ values, io }) {
    const seed = theory({ machines: 2n, ports: 3n });
    const ipv4 = internetTheory('ipv4');
    if (values.json) {
      printJson(io, { theory: { seed, ipv4 } });
      return 0;
    }
    io.stdout.write(`== theory: the seed's example ==\n${formatTheory(seed)}\n\n`);
    io.stdout.write(`== theory: the whole IPv4 space ==\n${formatTheory(ipv4, true)}\n`);
    return 0;
  },
};

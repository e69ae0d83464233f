/** The machine section: what the results ran on, and its limits when they were read. */

import { formatBytes } from '../../units.js';
import type { LimitsInput, MachineInfo } from '../types.js';
import { card, type Section } from './common.js';
import { limitsHtml } from './limits.js';

/** 2026-01-01T12:00:00.000Z -> 2026-01-01 12:00 UTC */
export function formatDate(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

function machineFacts(machine: MachineInfo): string {
  const rows: [string, string][] = [];
  if (machine.kernel) {
    const arch = machine.arch ? ` (${machine.arch})` : '';
    rows.push(['kernel', `${machine.platform ?? 'linux'} ${machine.kernel}${arch}`]);
  }
  if (machine.cores !== undefined) rows.push(['cores', String(machine.cores)]);
  if (machine.memoryBytes !== undefined) {
    const available =
      machine.memoryAvailableBytes !== undefined
        ? ` (${formatBytes(machine.memoryAvailableBytes)} available)`
        : '';
    rows.push(['memory', `${formatBytes(machine.memoryBytes)}${available}`]);
  }
  if (machine.node) rows.push(['Node.js', machine.node]);
  if (machine.fourtuple) rows.push(['fourtuple', machine.fourtuple]);
  if (machine.date) rows.push(['date', formatDate(machine.date)]);
  const here = machine.renderedHere
    ? '<p class="intro">The results file does not describe its machine; this is the machine that rendered the page.</p>'
    : '';
  return `${here}<div class="facts">${rows.map(([k, v]) => card(k, v)).join('')}</div>`;
}

export function machineSection(
  machine: MachineInfo | undefined,
  limits: LimitsInput | undefined,
): Section {
  const html = (machine ? machineFacts(machine) : '') + (limits ? limitsHtml(limits) : '');
  return { id: 'machine', title: 'Machine', html, charts: [] };
}
